// What programs leave behind: the shim, as the container's PID 1, inherits every orphan; it reaps them (never a
// running program, whose exit status exec.Cmd.Wait reads) and kills every process but itself when no run is in flight.
package main

import (
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// A process that left its run's process group (setsid, setpgid) is not killed with the group; it is reparented to
// PID 1, and once it dies it stays a zombie until PID 1 waits for it. Both hold one of the container's process slots.
type reaper struct {
	mu       sync.Mutex
	changed  *sync.Cond
	running  int
	draining bool
	// The programs started and not yet waited for: their exit status is exec.Cmd.Wait's, not the reaper's.
	programs map[int]bool
	// Only the container's PID 1 may kill everything else: run anywhere else, the shim must never do so.
	init bool
	// Above this many tasks (processes and threads) a new run waits for the running ones to end, then for the
	// leftovers' end: under steady traffic the instance is never idle, yet its leftovers stay bounded.
	crowded int
}

func newReaper() *reaper {
	r := &reaper{programs: map[int]bool{}, init: os.Getpid() == 1}
	r.changed = sync.NewCond(&r.mu)
	r.crowded = taskLimit() / 2
	return r
}

// reapOrphans waits for each child that is no program in flight, whenever a child ends.
func (r *reaper) reapOrphans() {
	ended := make(chan os.Signal, 1)
	signal.Notify(ended, syscall.SIGCHLD)
	go func() {
		for range ended {
			r.reap()
		}
	}()
}

func (r *reaper) reap() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, pid := range zombieChildren() {
		if !r.programs[pid] {
			var status syscall.WaitStatus
			_, _ = syscall.Wait4(pid, &status, syscall.WNOHANG, nil)
		}
	}
}

// start starts a run's program; its pid is known before the reaper can see it end.
func (r *reaper) start(cmd *exec.Cmd) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for r.draining {
		r.changed.Wait()
	}
	if r.running > 0 && r.init && tasks() > r.crowded {
		r.draining = true
		for r.running > 0 {
			r.changed.Wait()
		}
		r.killLeftovers()
		r.draining = false
		r.changed.Broadcast()
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	r.running++
	r.programs[cmd.Process.Pid] = true
	return nil
}

// finish is told once a run's program was waited for and its process group killed.
func (r *reaper) finish(pid int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.programs, pid)
	r.running--
	if r.running == 0 {
		r.killLeftovers()
	}
	r.changed.Broadcast()
}

// killLeftovers kills every process the shim may signal but itself (and PID 1, which it is): with no run in
// flight, whatever else lives was left behind. The reaper then waits for them as they end.
func (r *reaper) killLeftovers() {
	if r.init {
		_ = syscall.Kill(-1, syscall.SIGKILL)
	}
}

// zombieChildren are the shim's children that ended and were not waited for yet.
func zombieChildren() []int {
	self := strconv.Itoa(os.Getpid())
	entries, _ := os.ReadDir("/proc")
	var found []int
	for _, entry := range entries {
		pid, err := strconv.Atoi(entry.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile("/proc/" + entry.Name() + "/stat")
		if err != nil {
			continue
		}
		// "pid (comm) state ppid ...": comm may hold spaces and parentheses, so fields start after the last ')'.
		text := string(stat)
		fields := strings.Fields(text[strings.LastIndexByte(text, ')')+1:])
		if len(fields) >= 2 && fields[0] == "Z" && fields[1] == self {
			found = append(found, pid)
		}
	}
	return found
}

// The pids cgroup counts every task of the container against its limit (cgroup v2, else v1's pids hierarchy).
var pidsFolders = []string{"/sys/fs/cgroup", "/sys/fs/cgroup/pids"}

// taskLimit is the container's limit on tasks; the platform's own when it cannot be read.
func taskLimit() int {
	for _, folder := range pidsFolders {
		if value, ok := readNumber(folder + "/pids.max"); ok {
			return value
		}
	}
	return 256
}

// tasks is how many the container holds now; with no cgroup to read, the processes /proc lists.
func tasks() int {
	for _, folder := range pidsFolders {
		if value, ok := readNumber(folder + "/pids.current"); ok {
			return value
		}
	}
	entries, _ := os.ReadDir("/proc")
	count := 0
	for _, entry := range entries {
		if _, err := strconv.Atoi(entry.Name()); err == nil {
			count++
		}
	}
	return count
}

func readNumber(file string) (int, bool) {
	content, err := os.ReadFile(file)
	if err != nil {
		return 0, false
	}
	value, err := strconv.Atoi(strings.TrimSpace(string(content)))
	return value, err == nil && value > 0
}
