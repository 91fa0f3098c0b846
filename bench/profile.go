package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"
)

// profile fetches a CPU profile of s from its admin endpoint, covering most
// of a round of length d, into <cpuProfile><name>.pprof.
func (r *runner) profile(ctx context.Context, s *server, d time.Duration) error {
	secs := max(1, int((d-time.Second)/time.Second))
	url := fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", r.st.admin[s.name], secs)
	ctx, cancel := context.WithTimeout(ctx, d+time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("profiling %s: %w", s.name, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("profiling %s: %s", s.name, resp.Status)
	}
	path := r.cfg.cpuProfile + s.name + ".pprof"
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return fmt.Errorf("profiling %s: %w", s.name, err)
	}
	logf("wrote %s (%ds)", path, secs)
	return f.Close()
}
