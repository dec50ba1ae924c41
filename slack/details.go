package slack

import (
	"context"
	"encoding/json"
	"strings"

	slackapi "github.com/slack-go/slack"

	"github.com/drawbridge-jit/drawbridge/broker"
	"github.com/drawbridge-jit/drawbridge/grammar"
)

const (
	callbackDetails = "drawbridge_request_details"
	ticketBlock     = "ticket"
	ticketInput     = "ticket_input"
)

// detailsMeta is what the details modal carries between the command and
// its submission: the command's text and where to answer.
type detailsMeta struct {
	Text        string `json:"text"`
	ResponseURL string `json:"response_url"`
}

func needs(m broker.Missing) string {
	var n []string
	if m.Ticket != "" {
		n = append(n, "a ticket")
	}
	if m.Reason {
		n = append(n, "a reason")
	}
	return strings.Join(n, " and ")
}

// openDetailsModal asks for the reason or ticket the deciding rule
// requires (views.open with the command's trigger_id).
func (h *Handler) openDetailsModal(ctx context.Context, o origin, text string, m broker.Missing) error {
	meta, err := json.Marshal(detailsMeta{Text: text, ResponseURL: o.responseURL})
	if err != nil {
		return err
	}
	plain := func(s string) *slackapi.TextBlockObject {
		return slackapi.NewTextBlockObject(slackapi.PlainTextType, s, false, false)
	}
	var blocks []slackapi.Block
	if m.Ticket != "" {
		in := slackapi.NewInputBlock(ticketBlock, plain("Ticket"), plain("Must match "+m.Ticket), slackapi.NewPlainTextInputBlockElement(plain("INC-12345"), ticketInput))
		blocks = append(blocks, in)
	}
	if m.Reason {
		el := slackapi.NewPlainTextInputBlockElement(plain("Why do you need it?"), denyInput)
		el.Multiline = true
		blocks = append(blocks, slackapi.NewInputBlock(denyBlock, plain("Reason"), nil, el))
	}
	view := slackapi.ModalViewRequest{
		Type: slackapi.VTModal, CallbackID: callbackDetails, PrivateMetadata: string(meta),
		Title: plain("Request access"), Submit: plain("Request"), Close: plain("Cancel"),
		Blocks: slackapi.Blocks{BlockSet: blocks},
	}
	_, err = h.API.OpenViewContext(ctx, o.trigger, view)
	return err
}

// submitDetails records the request of a details modal's submission with
// the reason and ticket it was given, and answers on the command's
// response_url.
func (h *Handler) submitDetails(ctx context.Context, cb slackapi.InteractionCallback) {
	ctx, cancel := context.WithTimeout(ctx, timeLimit)
	defer cancel()
	var meta detailsMeta
	if err := json.Unmarshal([]byte(cb.View.PrivateMetadata), &meta); err != nil {
		return
	}
	cb.ResponseURL = meta.ResponseURL
	c, p, refused := h.identify(ctx, cb.User.ID)
	if refused != nil {
		h.tell(ctx, cb, *refused)
		return
	}
	in, err := grammar.ParseText(meta.Text)
	if err != nil {
		h.tell(ctx, cb, h.usage(p, err))
		return
	}
	sub := broker.SubmitInput{Requester: c.Principal, Entitlement: in.Entitlement(), Duration: in.Duration,
		Reason: in.Reason, Ticket: in.Ticket}
	values := cb.View.State.Values
	if v := strings.TrimSpace(values[ticketBlock][ticketInput].Value); v != "" {
		sub.Ticket = v
	}
	if v := strings.TrimSpace(values[denyBlock][denyInput].Value); v != "" {
		sub.Reason = v
	}
	h.tell(ctx, cb, h.submit(ctx, c, p, sub))
}
