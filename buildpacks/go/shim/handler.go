// Routing of each request the host sends: health, direct invokes, public HTTP; and the answers.
package main

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
)

// As AWS Lambda's payload limit: an event or an answer over this is refused rather than held.
const maxPayload = 6 * 1024 * 1024

type handler struct {
	config settings
	secret []byte
	logs   *logWriter
	reaper *reaper
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	internal := carriesSecret(r, h.secret)
	mode := ""
	if internal {
		mode = r.Header.Get(invokeHeader)
	}
	switch mode {
	case "health":
		w.Header().Set("content-type", "text/plain")
		_, _ = io.WriteString(w, "ok")
		return
	case "", "direct":
	default:
		// A pre-started cell's calls (init, warm): this runtime has no cells.
		http.Error(w, "not supported by the go runtime", http.StatusForbidden)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxPayload+1))
	if err != nil {
		return
	}
	if len(body) > maxPayload {
		http.Error(w, "the request is over 6 MB", http.StatusRequestEntityTooLarge)
		return
	}
	requestID := ""
	if internal {
		requestID = r.Header.Get(requestIDHeader)
	}
	if requestID == "" {
		requestID = newRequestID()
	}
	direct := mode == "direct"
	event := body
	if !direct {
		event = httpEvent(r, body, requestID)
	} else if len(event) == 0 {
		event = []byte("null")
	}
	result := h.invoke(r.Context(), requestID, event)
	switch {
	case result.errorType != "":
		h.sendError(w, result, direct || internal, requestID)
	case direct:
		sendDirect(w, result.stdout)
	default:
		sendResult(w, result.stdout)
	}
}

// sendError answers a failed run: the host's own calls (a queued HTTP call too) get why; public callers only that it failed.
func (h *handler) sendError(w http.ResponseWriter, result outcome, withReason bool, requestID string) {
	record, _ := json.Marshal(map[string]string{"errorType": result.errorType, "errorMessage": result.errorMessage, "requestId": requestID})
	h.logs.line('e', "ERROR\tInvoke Error\t"+string(record))
	w.Header().Set("content-type", "application/json")
	var answer []byte
	if withReason {
		w.Header().Set(errorHeader, "Unhandled")
		answer, _ = json.Marshal(map[string]string{"errorType": result.errorType, "errorMessage": result.errorMessage})
	} else {
		answer, _ = json.Marshal(map[string]string{"message": "Internal Server Error", "requestId": requestID})
	}
	w.WriteHeader(http.StatusBadGateway)
	_, _ = w.Write(answer)
}

// sendDirect answers a direct invoke: stdout when it is JSON, else stdout as a JSON string.
func sendDirect(w http.ResponseWriter, stdout []byte) {
	w.Header().Set("content-type", "application/json")
	if len(stdout) == 0 {
		_, _ = io.WriteString(w, "null")
		return
	}
	if json.Valid(stdout) {
		_, _ = w.Write(stdout)
		return
	}
	text, _ := json.Marshal(string(stdout))
	_, _ = w.Write(text)
}

func newRequestID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
