package router

import (
	"html"
	"net/http"
	"strconv"
	"time"
)

// writePage writes a small plain-text error page.
func writePage(w http.ResponseWriter, status int, body string) {
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body))
}

// writeTooLarge answers 413 and closes the connection rather than reading
// the rest of an oversized body.
func writeTooLarge(w http.ResponseWriter, limit int64) {
	w.Header().Set("Connection", "close")
	writePage(w, http.StatusRequestEntityTooLarge,
		"413 Content Too Large: request bodies are limited to "+strconv.FormatInt(limit, 10)+" bytes\n")
}

// notFoundPage names the host; it is escaped although the page is plain
// text, in case something renders it as HTML anyway.
func notFoundPage(hostHeader string) string {
	host := normalizeHost(hostHeader)
	if len(host) > maxHostLen {
		host = host[:maxHostLen] + "…"
	}
	return "404 Not Found: no app is served at " + html.EscapeString(host) + "\n"
}

func noBackendsPage(app string) string {
	return "503 Service Unavailable: app " + html.EscapeString(app) + " has no running web process\n"
}

func unreachablePage(app string) string {
	return "503 Service Unavailable: no web process of app " + html.EscapeString(app) + " accepted the connection\n"
}

func badGatewayPage(app string) string {
	return "502 Bad Gateway: app " + html.EscapeString(app) + " did not answer properly\n"
}

func timeoutPage(app string, timeout time.Duration) string {
	return "504 Gateway Timeout: app " + html.EscapeString(app) + " did not answer within " + formatTimeout(timeout) + "\n"
}
