// The go runtime's shim, PID 1 in every Go version's container: reads the instance secret, dials the host and
// runs the function's program once per invocation (docs/runtime-protocol.md), reaping what programs leave behind.
package main

import (
	"bufio"
	"crypto/subtle"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
)

// The host marks its own calls with these headers; the gateway strips them from public traffic.
const (
	invokeHeader    = "x-lambda-internal-invoke"
	requestIDHeader = "x-lambda-internal-request-id"
	errorHeader     = "x-lambda-internal-error"
	secretHeader    = "x-lambda-internal-secret"
)

// settings are what the host tells this instance through its environment.
type settings struct {
	socketDir string
	program   string
	version   string
	name      string
	timeoutMs int
	memoryMb  string
}

func readSettings() settings {
	get := func(key, fallback string) string {
		if value := os.Getenv(key); value != "" {
			return value
		}
		return fallback
	}
	timeout, err := strconv.Atoi(get("LAMBDA_TIMEOUT_MS", "10000"))
	if err != nil || timeout <= 0 {
		timeout = 10000
	}
	return settings{
		socketDir: get("LAMBDA_SOCKET_DIR", "/run/lambda"),
		program:   filepath.Join(get("LAMBDA_TASK_ROOT", "/var/task"), "function"),
		version:   get("LAMBDA_FUNCTION_VERSION", "$LATEST"),
		name:      get("LAMBDA_FUNCTION_NAME", "function"),
		timeoutMs: timeout,
		memoryMb:  get("LAMBDA_MEMORY_MB", "256"),
	}
}

// readSecret reads the first line of stdin, which the host writes once and then closes: the secret is in no
// environment block, and the function's program never sees this descriptor (it gets its event on a pipe).
func readSecret() []byte {
	line, _ := bufio.NewReaderSize(os.Stdin, 256).ReadSlice('\n')
	if len(line) > 0 && line[len(line)-1] == '\n' {
		line = line[:len(line)-1]
	}
	return append([]byte(nil), line...)
}

// carriesSecret is true for a call of the host's; an instance booted without a secret honours none.
func carriesSecret(r *http.Request, secret []byte) bool {
	given := r.Header.Values(secretHeader)
	if len(secret) == 0 || len(given) != 1 {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(given[0]), secret) == 1
}

func main() {
	secret := readSecret()
	_ = os.Stdin.Close()
	config := readSettings()
	logs := newLogWriter(filepath.Join(config.socketDir, "log.sock"))
	reaper := newReaper()
	reaper.reapOrphans()
	server := &http.Server{Handler: &handler{config: config, secret: secret, logs: logs, reaper: reaper}}
	listener := newDialListener(filepath.Join(config.socketDir, "host.sock"), 4)
	server.ConnState = listener.connState
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		<-stop
		logs.flush()
		os.Exit(0)
	}()
	_ = server.Serve(listener)
}
