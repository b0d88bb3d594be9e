package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/wharfhq/wharf"
)

const defaultAPI = "http://127.0.0.1:8000"

// tokenHint says where an API token comes from.
const tokenHint = "set WHARF_TOKEN to an API token (wharfd writes the admin token to the file admin-token in its data directory, by default ./wharf-data/admin-token)"

// client calls the Wharf HTTP API.
type client struct {
	base  string // e.g. http://127.0.0.1:8000, no trailing slash
	token string
	http  *http.Client
}

// newClient reads WHARF_API and WHARF_TOKEN.
func newClient(env func(string) string) (*client, error) {
	base := strings.TrimRight(strings.TrimSpace(env("WHARF_API")), "/")
	if base == "" {
		base = defaultAPI
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("WHARF_API=%q is not an http(s) URL like %s", base, defaultAPI)
	}
	return &client{
		base:  base,
		token: strings.TrimSpace(env("WHARF_TOKEN")),
		http:  &http.Client{Timeout: 5 * time.Minute},
	}, nil
}

// do sends a request to /api/v1 + path with in (if not nil) as its JSON
// body, and returns the response body of a 2xx answer. Other answers become
// an error holding the API's message.
func (c *client) do(ctx context.Context, method, path string, in any) ([]byte, error) {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return nil, fmt.Errorf("encoding the request: %w", err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+"/api/v1"+path, body)
	if err != nil {
		return nil, fmt.Errorf("building the request: %w", err)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	res, err := c.http.Do(req)
	if err != nil {
		return nil, c.networkError(ctx, err)
	}
	defer res.Body.Close()
	out, err := io.ReadAll(io.LimitReader(res.Body, 32<<20))
	if err != nil {
		return nil, fmt.Errorf("reading the answer of %s: %w", c.base, err)
	}
	if res.StatusCode >= 300 {
		return nil, c.apiError(res, out)
	}
	return out, nil
}

// get decodes the JSON answer of GET path into out.
func (c *client) get(ctx context.Context, path string, out any) ([]byte, error) {
	b, err := c.do(ctx, http.MethodGet, path, nil)
	if err != nil {
		return nil, err
	}
	return b, decodeAnswer(b, out)
}

// decodeAnswer decodes an API answer, with an error that says so.
func decodeAnswer(b []byte, out any) error {
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("the API answered something that is not the expected JSON: %v", err)
	}
	return nil
}

// networkError explains a failed round trip.
func (c *client) networkError(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("interrupted: %w", ctx.Err())
	}
	var uerr *url.Error
	if errors.As(err, &uerr) {
		err = uerr.Err
	}
	return fmt.Errorf("could not reach the Wharf API at %s (%v); is wharfd running? Set WHARF_API to its address", c.base, err)
}

// apiError turns a non-2xx answer into an error with the API's message and,
// for 401, where to get a token.
func (c *client) apiError(res *http.Response, body []byte) error {
	var e struct {
		Error string `json:"error"`
		Code  string `json:"code"`
	}
	if json.Unmarshal(body, &e) != nil || e.Error == "" {
		e.Error = fmt.Sprintf("the API at %s answered %s", c.base, res.Status)
		e.Code = wharf.EINTERNAL
	}
	if res.StatusCode == http.StatusUnauthorized {
		if c.token == "" {
			return wharf.Errorf(wharf.EUNAUTHORIZED, "no API token: %s", tokenHint)
		}
		return wharf.Errorf(wharf.EUNAUTHORIZED, "%s: %s", strings.TrimSuffix(e.Error, "."), tokenHint)
	}
	return wharf.Errorf(e.Code, "%s", e.Error)
}

// printJSON writes an API answer indented, for --json.
func printJSON(w io.Writer, b []byte) error {
	var buf bytes.Buffer
	if err := json.Indent(&buf, bytes.TrimSpace(b), "", "  "); err != nil {
		return fmt.Errorf("the API answered something that is not JSON: %v", err)
	}
	buf.WriteByte('\n')
	_, err := w.Write(buf.Bytes())
	return err
}
