package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// startTimeout bounds how long a child may take to accept connections.
const startTimeout = 20 * time.Second

// stopWait bounds how long stopAll waits for a killed child to be reaped.
const stopWait = 5 * time.Second

// processes are the children the bench started; stopAll ends them all.
type processes struct {
	mu   sync.Mutex
	list []child
	done bool
}

// child is a started process, the signal that stops it, and a channel
// closed once it is reaped.
type child struct {
	cmd    *exec.Cmd
	stop   syscall.Signal
	reaped chan struct{}
}

// start starts cmd as a child that dies with the bench, with its output
// going to logPath. stop is the signal that ends it: SIGKILL, or SIGTERM
// for a child that must end children of its own (Apache's parent process
// ends its workers, which a SIGKILL would orphan).
func (p *processes) start(cmd *exec.Cmd, logPath string, stop syscall.Signal) error {
	log, err := os.Create(logPath)
	if err != nil {
		return err
	}
	cmd.Stdout, cmd.Stderr = log, log
	// Should the bench itself be killed, the kernel sends the child its
	// stop signal.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: stop}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.done {
		log.Close()
		return errors.New("the bench is stopping")
	}
	if err := cmd.Start(); err != nil {
		log.Close()
		return fmt.Errorf("starting %s: %w", cmd.Path, err)
	}
	c := child{cmd: cmd, stop: stop, reaped: make(chan struct{})}
	p.list = append(p.list, c)
	go func() {
		cmd.Wait()
		log.Close()
		close(c.reaped)
	}()
	return nil
}

// stopAll stops every child the bench started, and keeps it from starting
// more, and waits a little for each to be reaped; a child that ignored a
// gentler stop signal meanwhile is killed. It may be called more than once,
// from any goroutine.
func (p *processes) stopAll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done = true
	for _, c := range p.list {
		c.cmd.Process.Signal(c.stop)
	}
	deadline := time.After(stopWait)
	for _, c := range p.list {
		select {
		case <-c.reaped:
		case <-deadline:
			for _, c := range p.list {
				c.cmd.Process.Kill()
			}
			return
		}
	}
	p.list = nil
}

// server is a child process listening on a loopback port.
type server struct {
	name    string
	pid     int
	addr    string // host:port
	logPath string
	// tree is set when the CPU time of the process's own children, live
	// or reaped, counts as its own: Apache's workers.
	tree bool
	// with are servers whose CPU time counts as this one's: the auth
	// service of the forward_auth anchor.
	with []*server
}

// single reports whether s is one process, with none counted with it.
func (s *server) single() bool {
	return !s.tree && len(s.with) == 0
}

// startServer starts cmd, which listens on addr, and waits until it
// accepts connections; stop is the signal that ends it.
func startServer(ctx context.Context, procs *processes, name string, cmd *exec.Cmd, addr, logPath string, stop syscall.Signal) (*server, error) {
	if err := procs.start(cmd, logPath, stop); err != nil {
		return nil, err
	}
	s := &server{name: name, pid: cmd.Process.Pid, addr: addr, logPath: logPath}
	if err := waitListening(ctx, addr, startTimeout); err != nil {
		return nil, fmt.Errorf("%s did not start: %w; its log:\n%s", name, err, tail(logPath, 20))
	}
	return s, nil
}

// waitListening waits until addr accepts a TCP connection.
func waitListening(ctx context.Context, addr string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("nothing listens on %s after %v", addr, timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// freeAddr returns a loopback address with a port nobody listens on now.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// tail returns the last n lines of the file at path.
func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// memory is a process's resident set, current and peak, in bytes.
type memory struct {
	rss, peak int64
}

// readMemory reads the VmRSS and VmHWM of process pid.
func readMemory(pid int) (memory, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return memory{}, err
	}
	defer f.Close()
	var m memory
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), ":")
		if !ok || name != "VmRSS" && name != "VmHWM" {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(value), " kB"), 10, 64)
		if err != nil {
			return memory{}, fmt.Errorf("reading %s of process %d: %w", name, pid, err)
		}
		if name == "VmRSS" {
			m.rss = kb << 10
		} else {
			m.peak = kb << 10
		}
	}
	if m.rss == 0 || m.peak == 0 {
		return memory{}, fmt.Errorf("no VmRSS or VmHWM for process %d", pid)
	}
	return m, sc.Err()
}

// resetPeak sets the VmHWM of process pid back to its current RSS
// (proc(5), clear_refs "5"), so that the next peak is that of what follows.
func resetPeak(pid int) error {
	return os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0)
}

// clockTick is the unit of the CPU times in /proc: USER_HZ, which is 100
// on every Linux architecture Go runs on.
const clockTick = 10 * time.Millisecond

// cpuTime returns the CPU time, user and system, process pid has used.
func cpuTime(pid int) (time.Duration, error) {
	return processTicks(fmt.Sprintf("/proc/%d/stat", pid), 2)
}

// serverCPU returns the CPU time, user and system, the process of s has
// used and, when s is a tree, that of its live children and of those it
// has reaped; not that of s.with.
func serverCPU(s *server) (time.Duration, error) {
	if !s.tree {
		return cpuTime(s.pid)
	}
	kids, err := childPIDs(s.pid)
	if err != nil {
		return 0, err
	}
	var total time.Duration
	for _, pid := range kids {
		d, err := cpuTime(pid)
		if gone(err) {
			// It ended since the listing: its time is in its parent's
			// cutime and cstime once reaped.
			continue
		}
		if err != nil {
			return 0, err
		}
		total += d
	}
	// utime, stime, and the cutime and cstime of the children it reaped.
	d, err := processTicks(fmt.Sprintf("/proc/%d/stat", s.pid), 4)
	return total + d, err
}

// serverSyscalls returns the read and write system calls of the process
// of s and, when s is a tree, of its live children.
func serverSyscalls(s *server) (reads, writes int64, err error) {
	pids := []int{s.pid}
	if s.tree {
		kids, err := childPIDs(s.pid)
		if err != nil {
			return 0, 0, err
		}
		pids = append(pids, kids...)
	}
	for _, pid := range pids {
		r, w, err := syscalls(pid)
		if gone(err) {
			continue
		}
		if err != nil {
			return 0, 0, err
		}
		reads, writes = reads+r, writes+w
	}
	return reads, writes, nil
}

// gone reports whether err is that of reading /proc for a process that
// has ended.
func gone(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ESRCH)
}

// childPIDs returns the processes whose parent is ppid, from the stat file
// of every process in /proc.
func childPIDs(ppid int) ([]int, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	want := strconv.Itoa(ppid)
	var kids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue // gone meanwhile
		}
		// state and ppid follow the parenthesized command name.
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			continue
		}
		if f := strings.Fields(string(b[i+1:])); len(f) > 1 && f[1] == want {
			kids = append(kids, pid)
		}
	}
	return kids, nil
}

// selfCPU returns the CPU time of the bench and of the children it has
// reaped, wrk among them.
func selfCPU() (time.Duration, error) {
	return processTicks("/proc/self/stat", 4)
}

// processTicks adds up n CPU times of a /proc/<pid>/stat file from field
// 14 on: utime, stime, cutime and cstime.
func processTicks(path string, n int) (time.Duration, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	// The command name, in parentheses, may hold spaces: count fields
	// after its closing parenthesis, where state is field 3.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("unexpected %s", path)
	}
	fields := strings.Fields(string(b[i+1:]))
	if len(fields) < 11+n {
		return 0, fmt.Errorf("unexpected %s", path)
	}
	return sumTicks(fields[11 : 11+n])
}

// machineBusy returns the time all CPUs spent busy, time the hypervisor
// stole included, from the first line of /proc/stat.
func machineBusy() (time.Duration, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, err
	}
	line, _, _ := strings.Cut(string(b), "\n")
	fields := strings.Fields(line)
	// cpu user nice system idle iowait irq softirq steal ...
	if len(fields) < 9 || fields[0] != "cpu" {
		return 0, fmt.Errorf("unexpected /proc/stat")
	}
	return sumTicks(append(fields[1:4:4], fields[6:9]...))
}

// sumTicks adds up clock tick counts.
func sumTicks(fields []string) (time.Duration, error) {
	var ticks int64
	for _, f := range fields {
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("cpu time %q: %w", f, err)
		}
		ticks += n
	}
	return time.Duration(ticks) * clockTick, nil
}

// syscalls returns how many read and write system calls process pid has
// made (syscr and syscw of /proc/<pid>/io).
func syscalls(pid int) (reads, writes int64, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/io", pid))
	if err != nil {
		return 0, 0, err
	}
	for line := range strings.Lines(string(b)) {
		name, val, _ := strings.Cut(strings.TrimSpace(line), ": ")
		var dst *int64
		switch name {
		case "syscr":
			dst = &reads
		case "syscw":
			dst = &writes
		default:
			continue
		}
		if *dst, err = strconv.ParseInt(val, 10, 64); err != nil {
			return 0, 0, fmt.Errorf("/proc/%d/io %s: %w", pid, name, err)
		}
	}
	return reads, writes, nil
}
