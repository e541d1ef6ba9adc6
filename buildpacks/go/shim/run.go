// One invocation: the function's program run once, the event on its stdin, its stdout the answer, its stderr
// the log; START, END and REPORT around it; the time limit.
package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"syscall"
	"time"
)

type outcome struct {
	stdout       []byte
	errorType    string
	errorMessage string
}

func (h *handler) invoke(ctx context.Context, id string, event []byte) outcome {
	h.logs.line('p', "START RequestId: "+id+" Version: "+h.config.version)
	started := time.Now()
	result, status, maxRss := h.run(ctx, id, event)
	duration := float64(time.Since(started).Microseconds()) / 1000
	billed := int(duration + 0.999)
	if billed < 1 {
		billed = 1
	}
	h.logs.line('p', "END RequestId: "+id)
	h.logs.line('p', fmt.Sprintf("REPORT RequestId: %s\tDuration: %.2f ms\tBilled Duration: %d ms\tMemory Size: %s MB\tMax Memory Used: %d MB\tStatus: %s",
		id, duration, billed, h.config.memoryMb, (maxRss+1023)/1024, status))
	return result
}

// run starts the program in a process group of its own, so that everything it started ends with the request.
func (h *handler) run(ctx context.Context, id string, event []byte) (outcome, string, int64) {
	// Pipes of the shim's own (no copying goroutines that a program's leftovers could hold open): the event is
	// written by a goroutine that ends when the run does, whoever still holds the pipe.
	pipes, err := newPipes()
	if err != nil {
		return failure("Runtime.Unknown", err.Error()), "error", 0
	}
	defer pipes.close()
	cmd := exec.Command(h.config.program)
	cmd.Dir = "/tmp"
	cmd.Stdin = pipes.stdinRead
	cmd.Stdout = pipes.stdoutWrite
	cmd.Stderr = pipes.stderrWrite
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	startErr := h.reaper.start(cmd)
	pipes.closeChildEnds()
	if startErr != nil {
		return failure("Runtime.InvalidEntrypoint", startErr.Error()), "error", 0
	}
	go func() {
		_, _ = pipes.stdinWrite.Write(event)
		_ = pipes.stdinWrite.Close()
	}()
	kill := func() { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }

	tooLarge := make(chan struct{})
	answer := make(chan []byte, 1)
	go func() { answer <- readCapped(pipes.stdoutRead, maxPayload, func() { close(tooLarge); kill() }) }()
	logged := make(chan struct{})
	go func() { h.logLines(pipes.stderrRead); close(logged) }()
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()

	limit := time.Duration(h.config.timeoutMs) * time.Millisecond
	deadline := time.Now().Add(limit)
	// The host's timeout is the one that answers (504, and a fresh instance): this timer is only a backstop for a
	// host that went away, a second later, so that on a loaded machine it never answers first with a mere error.
	timer := time.NewTimer(limit + time.Second)
	defer timer.Stop()
	timedOut := func() {
		// The host answers 504 and replaces this instance at the same moment: say why while it still listens.
		h.logs.line('p', fmt.Sprintf("%s %s Task timed out after %.2f seconds", time.Now().UTC().Format("2006-01-02T15:04:05.000Z"), id, limit.Seconds()))
	}
	var waitErr error
	status := ""
	select {
	case waitErr = <-exited:
	case <-timer.C:
		timedOut()
		status = "timeout"
		kill()
		waitErr = <-exited
	case <-ctx.Done():
		// The host gave up on the request (its connection closed): the program's work is no one's any more. At the
		// time limit that is the host's timeout, which may reach this shim a moment before its own timer.
		if time.Until(deadline) < 100*time.Millisecond {
			timedOut()
			status = "timeout"
		}
		kill()
		waitErr = <-exited
	}
	// Whatever the program left running in its group ends now (and what left the group, once no run is in
	// flight); then its pipes close and the readers finish.
	kill()
	h.reaper.finish(cmd.Process.Pid)
	pipes.expire()
	stdout := <-answer
	<-logged
	var maxRss int64
	if cmd.ProcessState != nil {
		if usage, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			maxRss = usage.Maxrss
		}
	}
	select {
	case <-tooLarge:
		return failure("Runtime.ResponseTooLarge", fmt.Sprintf("the program wrote more than %d bytes to stdout", maxPayload)), "error", maxRss
	default:
	}
	switch {
	case status == "timeout":
		return failure("Runtime.Timeout", "the program ran past its timeout"), status, maxRss
	case ctx.Err() != nil:
		return failure("Runtime.Cancelled", "the request ended before the program"), "error", maxRss
	case waitErr != nil:
		var exit *exec.ExitError
		if errors.As(waitErr, &exit) {
			return failure("Runtime.ExitError", exit.ProcessState.String()), "error", maxRss
		}
		return failure("Runtime.Unknown", waitErr.Error()), "error", maxRss
	}
	return outcome{stdout: stdout}, "success", maxRss
}

// pipes are one run's stdin, stdout and stderr.
type pipes struct {
	stdinRead, stdinWrite, stdoutRead, stdoutWrite, stderrRead, stderrWrite *os.File
}

func newPipes() (*pipes, error) {
	p := &pipes{}
	var err error
	if p.stdinRead, p.stdinWrite, err = os.Pipe(); err != nil {
		return nil, err
	}
	if p.stdoutRead, p.stdoutWrite, err = os.Pipe(); err != nil {
		p.close()
		return nil, err
	}
	if p.stderrRead, p.stderrWrite, err = os.Pipe(); err != nil {
		p.close()
		return nil, err
	}
	return p, nil
}

// closeChildEnds closes the ends the program holds, so the shim's reads end when the program's side closes.
func (p *pipes) closeChildEnds() {
	for _, f := range []*os.File{p.stdinRead, p.stdoutWrite, p.stderrWrite} {
		_ = f.Close()
	}
}

// expire bounds what is left to read or write once the program's group is gone: a process that escaped it
// cannot hold the invocation open.
func (p *pipes) expire() {
	soon := time.Now().Add(time.Second)
	_ = p.stdinWrite.SetWriteDeadline(soon)
	_ = p.stdoutRead.SetReadDeadline(soon)
	_ = p.stderrRead.SetReadDeadline(soon)
}

func (p *pipes) close() {
	for _, f := range []*os.File{p.stdinRead, p.stdinWrite, p.stdoutRead, p.stdoutWrite, p.stderrRead, p.stderrWrite} {
		if f != nil {
			_ = f.Close()
		}
	}
}

func failure(kind, message string) outcome {
	return outcome{errorType: kind, errorMessage: message}
}

// readCapped reads all of r, calling over (once) and discarding the rest when it passes max bytes.
func readCapped(r io.Reader, max int, over func()) []byte {
	var out bytes.Buffer
	chunk := make([]byte, 64*1024)
	tripped := false
	for {
		n, err := r.Read(chunk)
		if n > 0 && !tripped {
			if out.Len()+n > max {
				tripped = true
				over()
			} else {
				out.Write(chunk[:n])
			}
		}
		if err != nil {
			return out.Bytes()
		}
	}
}

// logLines sends each line the program writes to stderr to the function's log.
func (h *handler) logLines(r io.Reader) {
	reader := bufio.NewReaderSize(r, 64*1024)
	for {
		line, err := reader.ReadSlice('\n')
		if len(line) > 0 {
			text := string(bytes.TrimRight(line, "\r\n"))
			if err == nil || text != "" {
				h.logs.line('e', text)
			}
		}
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			return
		}
	}
}
