// The AWS Lambda side of a public request: the API Gateway payload v2.0 event, and a program's stdout as the answer.
package main

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
)

var textTypes = regexp.MustCompile(`(?i)^(text/|application/(json|xml|javascript|x-www-form-urlencoded|graphql)|[^;]*\+(json|xml))`)

type httpContext struct {
	Method    string `json:"method"`
	Path      string `json:"path"`
	Protocol  string `json:"protocol"`
	SourceIP  string `json:"sourceIp"`
	UserAgent string `json:"userAgent"`
}

type requestContext struct {
	AccountID    string      `json:"accountId"`
	APIID        string      `json:"apiId"`
	DomainName   string      `json:"domainName"`
	DomainPrefix string      `json:"domainPrefix"`
	HTTP         httpContext `json:"http"`
	RequestID    string      `json:"requestId"`
	RouteKey     string      `json:"routeKey"`
	Stage        string      `json:"stage"`
	Time         string      `json:"time"`
	TimeEpoch    int64       `json:"timeEpoch"`
}

type event struct {
	Version               string            `json:"version"`
	RouteKey              string            `json:"routeKey"`
	RawPath               string            `json:"rawPath"`
	RawQueryString        string            `json:"rawQueryString"`
	Cookies               []string          `json:"cookies,omitempty"`
	Headers               map[string]string `json:"headers"`
	QueryStringParameters map[string]string `json:"queryStringParameters,omitempty"`
	RequestContext        requestContext    `json:"requestContext"`
	Body                  *string           `json:"body,omitempty"`
	IsBase64Encoded       bool              `json:"isBase64Encoded"`
}

// httpEvent builds the event as the node20 shim does: headers lower-cased and joined with commas, cookies apart.
func httpEvent(r *http.Request, body []byte, requestID string) []byte {
	headers := map[string]string{}
	var cookies []string
	if r.Host != "" {
		headers["host"] = r.Host
	}
	for name, values := range r.Header {
		lower := strings.ToLower(name)
		if strings.HasPrefix(lower, "x-lambda-internal-") || lower == "connection" || lower == "keep-alive" {
			continue
		}
		if lower == "cookie" {
			for _, value := range values {
				for _, cookie := range strings.Split(value, ";") {
					if c := strings.TrimSpace(cookie); c != "" {
						cookies = append(cookies, c)
					}
				}
			}
			continue
		}
		headers[lower] = strings.Join(values, ",")
	}
	var forwarded []string
	for _, part := range strings.Split(headers["x-forwarded-for"], ",") {
		if p := strings.TrimSpace(part); p != "" {
			forwarded = append(forwarded, p)
		}
	}
	sourceIP := "127.0.0.1"
	if len(forwarded) > 0 {
		sourceIP = forwarded[len(forwarded)-1]
	}
	host := headers["x-forwarded-host"]
	if host == "" {
		host = headers["host"]
	}
	if host == "" {
		host = "localhost"
	}
	now := time.Now().UTC()
	path := r.URL.EscapedPath()
	e := event{
		Version:        "2.0",
		RouteKey:       "$default",
		RawPath:        path,
		RawQueryString: r.URL.RawQuery,
		Headers:        headers,
		Cookies:        cookies,
		RequestContext: requestContext{
			AccountID:    "local",
			APIID:        "lambda",
			DomainName:   host,
			DomainPrefix: strings.Split(host, ".")[0],
			HTTP:         httpContext{Method: r.Method, Path: path, Protocol: r.Proto, SourceIP: sourceIP, UserAgent: headers["user-agent"]},
			RequestID:    requestID,
			RouteKey:     "$default",
			Stage:        "$default",
			Time:         now.Format("2006-01-02T15:04:05.000Z"),
			TimeEpoch:    now.UnixMilli(),
		},
	}
	if r.URL.RawQuery != "" {
		query := map[string]string{}
		for key, values := range r.URL.Query() {
			query[key] = strings.Join(values, ",")
		}
		e.QueryStringParameters = query
	}
	if len(body) > 0 {
		var text string
		if textTypes.MatchString(headers["content-type"]) {
			text = string(body)
		} else {
			text = base64.StdEncoding.EncodeToString(body)
			e.IsBase64Encoded = true
		}
		e.Body = &text
	}
	encoded, _ := json.Marshal(e)
	return encoded
}

// lambdaResult is AWS Lambda's HTTP result, used when the program prints a JSON object with statusCode.
type lambdaResult struct {
	StatusCode      json.RawMessage            `json:"statusCode"`
	Headers         map[string]json.RawMessage `json:"headers"`
	Body            json.RawMessage            `json:"body"`
	IsBase64Encoded bool                       `json:"isBase64Encoded"`
	Cookies         []string                   `json:"cookies"`
}

// sendResult answers public HTTP from stdout: Lambda's result shape, else JSON as JSON, else text.
func sendResult(w http.ResponseWriter, stdout []byte) {
	var shape map[string]json.RawMessage
	if json.Unmarshal(stdout, &shape) == nil && shape != nil && shape["statusCode"] != nil {
		var result lambdaResult
		if json.Unmarshal(stdout, &result) == nil {
			writeLambdaResult(w, result)
			return
		}
	}
	if json.Valid(stdout) {
		w.Header().Set("content-type", "application/json")
	} else {
		w.Header().Set("content-type", "text/plain; charset=utf-8")
	}
	_, _ = w.Write(stdout)
}

func writeLambdaResult(w http.ResponseWriter, result lambdaResult) {
	typed := false
	for name, raw := range result.Headers {
		w.Header().Set(name, jsonText(raw))
		typed = typed || strings.EqualFold(name, "content-type")
	}
	for _, cookie := range result.Cookies {
		w.Header().Add("set-cookie", cookie)
	}
	if !typed {
		w.Header().Set("content-type", "application/json")
	}
	body := []byte(jsonText(result.Body))
	if result.IsBase64Encoded {
		if decoded, err := base64.StdEncoding.DecodeString(string(body)); err == nil {
			body = decoded
		}
	}
	status, err := strconv.Atoi(jsonText(result.StatusCode))
	if err != nil || status < 200 || status > 599 {
		status = http.StatusOK
	}
	w.Header().Set("content-length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// jsonText is a JSON string's text, or any other JSON value as written (a number, an object for a body).
func jsonText(raw json.RawMessage) string {
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	var text string
	if json.Unmarshal(raw, &text) == nil {
		return text
	}
	return fmt.Sprint(string(raw))
}
