package main

import (
	"context"
	"errors"
	"math"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// load is one round of requests against one URL.
type load struct {
	url    string
	header http.Header
	// conns is the number of connections, each with one request in flight
	// at a time.
	conns    int
	duration time.Duration
	// rate, when positive, is the constant request rate to hold, whatever
	// the latency; zero sends each connection's next request as soon as
	// its last one is answered.
	rate float64
}

// loadResult is what a round measured.
type loadResult struct {
	requests int64
	elapsed  time.Duration
	rps      float64
	p50, p99 time.Duration
}

// generator drives a server with a load.
type generator interface {
	name() string
	run(ctx context.Context, l load) (loadResult, error)
}

// goGenerator is the bench's own load generator: a fixed number of
// keep-alive HTTP/1.1 connections, each with one request in flight, that
// send a request serialized once and read the answer with
// http.ReadResponse, without net/http's client and its goroutines per
// connection, so that the generator takes as little as it can of the CPUs
// it shares with the servers it measures. With a rate it is open-loop: request
// i is due at start + i/rate, and its latency counts from then, so a
// stalled server is charged for the requests it held up (the correction
// wrk2 makes).
type goGenerator struct{}

func (goGenerator) name() string { return "go (HTTP/1.1 keep-alive)" }

// maxSamples bounds the latencies one connection records in a round.
const maxSamples = 1 << 20

func (goGenerator) run(ctx context.Context, l load) (loadResult, error) {
	get, err := newWireGET(l.url, l.header)
	if err != nil {
		return loadResult{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, l.duration+time.Minute)
	defer cancel()
	var (
		next     atomic.Int64 // the next request's number, in rate mode
		wg       sync.WaitGroup
		mu       sync.Mutex
		samples  []time.Duration
		firstErr error
	)
	start := time.Now()
	end := start.Add(l.duration)
	for range l.conns {
		wg.Go(func() {
			mine, err := connLoop(ctx, get, l, start, end, &next)
			mu.Lock()
			defer mu.Unlock()
			samples = append(samples, mine...)
			if err != nil && firstErr == nil {
				firstErr = err
				cancel()
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	if firstErr != nil {
		return loadResult{}, firstErr
	}
	return summarize(samples, elapsed)
}

// connLoop sends one connection's requests until end and returns their
// latencies.
func connLoop(ctx context.Context, get *wireGET, l load, start, end time.Time, next *atomic.Int64) ([]time.Duration, error) {
	c := &client{get: get}
	defer c.close()
	stop := context.AfterFunc(ctx, c.close)
	defer stop()
	var lat []time.Duration
	for len(lat) < maxSamples {
		due := time.Now()
		if l.rate > 0 {
			n := next.Add(1) - 1
			due = start.Add(time.Duration(float64(n) / l.rate * float64(time.Second)))
			time.Sleep(time.Until(due))
		}
		if !due.Before(end) {
			return lat, nil
		}
		if err := c.do(); err != nil {
			if ctx.Err() != nil {
				return lat, ctx.Err()
			}
			return lat, err
		}
		lat = append(lat, time.Since(due))
	}
	return lat, nil
}

// summarize turns the latencies of a round into its result.
func summarize(samples []time.Duration, elapsed time.Duration) (loadResult, error) {
	if len(samples) == 0 {
		return loadResult{}, errors.New("no request completed")
	}
	slices.Sort(samples)
	return loadResult{
		requests: int64(len(samples)),
		elapsed:  elapsed,
		rps:      float64(len(samples)) / elapsed.Seconds(),
		p50:      percentile(samples, 0.50),
		p99:      percentile(samples, 0.99),
	}, nil
}

// percentile returns the p-quantile of sorted, by the nearest-rank method.
func percentile(sorted []time.Duration, p float64) time.Duration {
	i := int(math.Ceil(float64(len(sorted))*p)) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}
