// The go runtime's shim, PID 1 in every Go version's container: reads the instance secret, dials the host and
// runs the function's program once per invocation (docs/runtime-protocol.md), reaping what programs leave behind.
package main

import (
	"bufio"
	"crypto/subtle"
	"io"
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
	// On a swarm: the gateway's address (LAMBDA_GATEWAY), the name its certificate carries, the authority that
	// signed it and this instance's id; the instance dials there over TLS rather than the socket folder.
	gateway          string
	gatewayName      string
	gatewayAuthority string
	instanceID       string
	program          string
	version          string
	name             string
	timeoutMs        int
	memoryMb         string
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
	gateway, host, _ := gatewayAddress(os.Getenv("LAMBDA_GATEWAY"))
	return settings{
		socketDir:        get("LAMBDA_SOCKET_DIR", "/run/lambda"),
		gateway:          gateway,
		gatewayName:      get("LAMBDA_GATEWAY_NAME", host),
		gatewayAuthority: get("LAMBDA_GATEWAY_AUTHORITY", "/run/lambda/authority.pem"),
		instanceID:       os.Getenv("LAMBDA_INSTANCE_ID"),
		program:          filepath.Join(get("LAMBDA_TASK_ROOT", "/var/task"), "function"),
		version:          get("LAMBDA_FUNCTION_VERSION", "$LATEST"),
		name:             get("LAMBDA_FUNCTION_NAME", "function"),
		timeoutMs:        timeout,
		memoryMb:         get("LAMBDA_MEMORY_MB", "256"),
	}
}

// readSecret reads the first line of stdin, which the host writes once and then closes: the secret is in no
// environment block, and the function's program never sees this descriptor (it gets its event on a pipe). A swarm
// task has no stdin: its secret is a swarm secret's file (LAMBDA_SECRET_FILE), on a tmpfs only this task sees.
func readSecret() []byte {
	var source io.Reader = os.Stdin
	if file := os.Getenv("LAMBDA_SECRET_FILE"); file != "" {
		opened, err := os.Open(file)
		if err != nil {
			return nil
		}
		defer opened.Close()
		source = opened
	}
	line, _ := bufio.NewReaderSize(source, 256).ReadSlice('\n')
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
	dial := unixDialer(config.socketDir)
	if config.gateway != "" {
		dial = gatewayDialer(config.gateway, config.gatewayName, config.gatewayAuthority, config.instanceID, secret)
	}
	logs := newLogWriter(dial)
	reaper := newReaper()
	reaper.reapOrphans()
	server := &http.Server{Handler: &handler{config: config, secret: secret, logs: logs, reaper: reaper}}
	listener := newDialListener(dial, 4)
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
