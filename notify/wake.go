package notify

import (
	"context"

	"github.com/drawbridge-jit/drawbridge"
)

// Wake wraps a store so that every write carrying audit events calls wake
// (the workers' Wake) after it committed: new events are delivered at once
// instead of at the next poll. Writes by other processes are found by the
// poll.
func Wake(s drawbridge.Store, wake func()) drawbridge.Store {
	return wakeStore{s, wake}
}

type wakeStore struct {
	drawbridge.Store
	wake func()
}

func (s wakeStore) CreateRequest(ctx context.Context, r *drawbridge.Request, events ...drawbridge.AuditEvent) error {
	err := s.Store.CreateRequest(ctx, r, events...)
	if err == nil && len(events) > 0 {
		s.wake()
	}
	return err
}

func (s wakeStore) UpdateRequest(ctx context.Context, r *drawbridge.Request, events ...drawbridge.AuditEvent) error {
	err := s.Store.UpdateRequest(ctx, r, events...)
	if err == nil && len(events) > 0 {
		s.wake()
	}
	return err
}

func (s wakeStore) AppendAudit(ctx context.Context, events ...drawbridge.AuditEvent) error {
	err := s.Store.AppendAudit(ctx, events...)
	if err == nil && len(events) > 0 {
		s.wake()
	}
	return err
}
