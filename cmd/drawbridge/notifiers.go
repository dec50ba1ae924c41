package main

import (
	"context"
	"log/slog"
	"sync"

	"github.com/drawbridge-jit/drawbridge"
	"github.com/drawbridge-jit/drawbridge/broker"
	"github.com/drawbridge-jit/drawbridge/clock"
	"github.com/drawbridge-jit/drawbridge/config"
	"github.com/drawbridge-jit/drawbridge/metrics"
	"github.com/drawbridge-jit/drawbridge/notify"
	"github.com/drawbridge-jit/drawbridge/notify/webhook"
)

// notifiersFrom makes a delivery worker for every entry of notify:, all
// reading store, and makes b's writes wake them. The workers run only in
// serve (runNotifiers); other commands write the events they will deliver.
func notifiersFrom(cfg *config.Config, b *broker.Broker, store drawbridge.Store, clk clock.Clock, logger *slog.Logger, m *metrics.Metrics) ([]*notify.Worker, error) {
	if len(cfg.Notify) == 0 {
		return nil, nil
	}
	holder := notify.NewHolder()
	var workers []*notify.Worker
	for _, nc := range cfg.Notify {
		var n drawbridge.Notifier = notify.Log{Logger: logger}
		if nc.Kind == "webhook" {
			h, err := webhook.New(nc.URL, nc.SigningSecrets(), nil, clk)
			if err != nil {
				return nil, err
			}
			n = h
		}
		w := &notify.Worker{Name: nc.Name, Notifier: n, Store: store, Clock: clk, Logger: logger,
			Holder: holder + "/" + nc.Name, Timeout: nc.Timeout.Std()}
		w.Approvers = func(rule string) []string {
			if pol := b.Policy(); pol != nil {
				if r, ok := pol.Rule(rule); ok {
					return r.Approvers
				}
			}
			return nil
		}
		if m != nil {
			m.NotifierConfigured(nc.Name)
			w.OnDelivery, w.OnLag = m.NotifyDelivery, m.NotifyLag
		}
		workers = append(workers, w)
	}
	b.Store = notify.Wake(b.Store, func() {
		for _, w := range workers {
			w.Wake()
		}
	})
	return workers, nil
}

// runNotifiers runs every worker until ctx ends and returns a function
// that waits for them to stop.
func runNotifiers(ctx context.Context, workers []*notify.Worker) (wait func()) {
	var wg sync.WaitGroup
	for _, w := range workers {
		wg.Add(1)
		go func() { defer wg.Done(); _ = w.Run(ctx) }()
	}
	return wg.Wait
}
