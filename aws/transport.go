package aws

import (
	"io"
	"net/http"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
)

// bodyGuard is the HTTP client of every AWS call: it hands the transport
// request bodies that can only be read and closed.
//
// Why: for a body with a known length, net/http's writeLoop copies that
// many bytes and then drains the rest with io.Copy, which prefers the
// body's WriteTo. smithy-go wraps every request body in a reader whose
// WriteTo answers (0, io.EOF) once the body is closed — and the SDK closes
// it as soon as the response has arrived, which on a fast connection is
// before the drain. writeLoop takes that io.EOF for a failed write and
// closes the connection: a response body still being read fails with "use
// of closed network connection" (about one call in 1,500 on loopback), and
// many more connections are silently not reused. Without WriteTo the drain
// reads instead, and a closed body's Read answers (0, io.EOF), which io.Copy
// counts as the end of the body.
type bodyGuard struct{ next awssdk.HTTPClient }

func (c bodyGuard) Do(req *http.Request) (*http.Response, error) {
	if req.Body != nil && req.Body != http.NoBody {
		req.Body = readCloserOnly{req.Body}
	}
	return c.next.Do(req)
}

// readCloserOnly hides every method of the body but Read and Close.
type readCloserOnly struct{ rc io.ReadCloser }

func (b readCloserOnly) Read(p []byte) (int, error) { return b.rc.Read(p) }
func (b readCloserOnly) Close() error               { return b.rc.Close() }
