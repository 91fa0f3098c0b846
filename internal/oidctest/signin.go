package oidctest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"golang.org/x/net/html"
)

// ErrLoginPage is SignIn's error when the provider shows its sign-in page
// and SignIn has no login to fill in.
var ErrLoginPage = errors.New("the provider asked the user to sign in")

// maxHops bounds the requests of one SignIn or SignOut.
const maxHops = 20

// SignIn does what a browser does with an authorization request: it
// requests authCodeURL with client (which needs a cookie jar: the
// provider's session lives there), follows the provider's redirects, fills
// the sign-in form with login (an account's sub or e-mail address) when the
// provider shows it, and returns the redirect to the client's redirect_uri
// (the request's, or the client's only registered one) without requesting
// it: its query has code, state and iss, or error and error_description.
//
// An empty login fails with ErrLoginPage if the provider shows its sign-in
// page (for prompt=none, it never does). An unknown login, a page other
// than the sign-in form, or a redirect elsewhere is an error.
func (p *Provider) SignIn(ctx context.Context, client *http.Client, authCodeURL, login string) (redirect *url.URL, err error) {
	start, err := url.Parse(authCodeURL)
	if err != nil {
		return nil, fmt.Errorf("authorization URL: %w", err)
	}
	target, err := p.redirectURI(start.Query())
	if err != nil {
		return nil, err
	}
	b, err := newBrowser(client)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, authCodeURL, nil)
	if err != nil {
		return nil, err
	}
	for range maxHops {
		resp, body, err := b.do(req)
		if err != nil {
			return nil, err
		}
		if loc, ok := redirected(resp); ok {
			if sameEndpoint(loc, target) {
				return loc, nil
			}
			if loc.Host != req.URL.Host {
				return nil, fmt.Errorf("the provider redirected to %s, not to the redirect_uri %s", loc, target)
			}
			if req, err = http.NewRequestWithContext(ctx, http.MethodGet, loc.String(), nil); err != nil {
				return nil, err
			}
			continue
		}
		if resp.StatusCode == http.StatusUnauthorized {
			return nil, fmt.Errorf("the provider refused login %q: %s", login, pageError(body))
		}
		action, values, ok := submit(body, resp.Request.URL, "sign-in")
		if resp.StatusCode != http.StatusOK || !ok {
			return nil, fmt.Errorf("%s %s: %s: %s", req.Method, req.URL, resp.Status, pageError(body))
		}
		if login == "" {
			return nil, ErrLoginPage
		}
		values.Set("login", login)
		if req, err = postForm(ctx, action, values); err != nil {
			return nil, err
		}
	}
	return nil, fmt.Errorf("sign-in did not end after %d requests", maxHops)
}

// SignOut does what a browser does with a logout request (RP-initiated
// logout): it requests endSessionURL (the provider's end_session_endpoint,
// with id_token_hint, post_logout_redirect_uri, state, client_id as
// wanted) with client, confirms with the page's #sign-out button, and
// returns the redirect that leaves the provider (to the
// post_logout_redirect_uri) without requesting it, or nil when the provider
// ends on its own "signed out" page.
func (p *Provider) SignOut(ctx context.Context, client *http.Client, endSessionURL string) (redirect *url.URL, err error) {
	b, err := newBrowser(client)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, endSessionURL, nil)
	if err != nil {
		return nil, err
	}
	for range maxHops {
		resp, body, err := b.do(req)
		if err != nil {
			return nil, err
		}
		if loc, ok := redirected(resp); ok {
			if loc.Host != req.URL.Host {
				return loc, nil
			}
			if req, err = http.NewRequestWithContext(ctx, http.MethodGet, loc.String(), nil); err != nil {
				return nil, err
			}
			continue
		}
		if resp.StatusCode == http.StatusOK && bytes.Contains(body, []byte(`id="signed-out"`)) {
			return nil, nil
		}
		action, values, ok := submit(body, resp.Request.URL, "sign-out")
		if resp.StatusCode != http.StatusOK || !ok {
			return nil, fmt.Errorf("%s %s: %s: %s", req.Method, req.URL, resp.Status, pageError(body))
		}
		if req, err = postForm(ctx, action, values); err != nil {
			return nil, err
		}
	}
	return nil, fmt.Errorf("sign-out did not end after %d requests", maxHops)
}

// redirectURI is where the authorization request's answer goes.
func (p *Provider) redirectURI(query url.Values) (*url.URL, error) {
	if r := query.Get("redirect_uri"); r != "" {
		return url.Parse(r)
	}
	for _, c := range p.clients {
		if c.ID == query.Get("client_id") && len(c.RedirectURIs) == 1 {
			return url.Parse(c.RedirectURIs[0])
		}
	}
	return nil, fmt.Errorf("the authorization request has no redirect_uri, and client %q has not exactly one", query.Get("client_id"))
}

// browser is the caller's client, stopping at each redirect.
type browser struct{ client http.Client }

func newBrowser(client *http.Client) (*browser, error) {
	if client == nil || client.Jar == nil {
		return nil, errors.New("oidctest needs an http.Client with a cookie jar (Provider.HTTPClient makes one)")
	}
	b := &browser{client: *client}
	b.client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return b, nil
}

// do sends req and reads the response's body (up to 1 MiB).
func (b *browser) do(req *http.Request) (*http.Response, []byte, error) {
	resp, err := b.client.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, nil, fmt.Errorf("%s %s: reading the response: %w", req.Method, req.URL, err)
	}
	return resp, body, nil
}

func postForm(ctx context.Context, action string, values url.Values) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, action, strings.NewReader(values.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return req, nil
}

// redirected returns the resolved Location of a redirect.
func redirected(resp *http.Response) (*url.URL, bool) {
	switch resp.StatusCode {
	case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther,
		http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
		loc, err := resp.Location()
		return loc, err == nil
	}
	return nil, false
}

// sameEndpoint tells whether u is at target, whatever its query.
func sameEndpoint(u, target *url.URL) bool {
	return u.Scheme == target.Scheme && u.Host == target.Host && u.EscapedPath() == target.EscapedPath()
}

// submit finds the button with id buttonID in page and returns what
// clicking it sends: its form's action (resolved against base) and the
// form's named inputs, with the button's own name and value.
func submit(page []byte, base *url.URL, buttonID string) (action string, values url.Values, ok bool) {
	doc, err := html.Parse(bytes.NewReader(page))
	if err != nil {
		return "", nil, false
	}
	button := find(doc, func(n *html.Node) bool { return attr(n, "id") == buttonID })
	if button == nil {
		return "", nil, false
	}
	var form *html.Node
	if id := attr(button, "form"); id != "" {
		form = find(doc, func(n *html.Node) bool { return n.Data == "form" && attr(n, "id") == id })
	} else {
		for form = button.Parent; form != nil && form.Data != "form"; form = form.Parent {
		}
	}
	if form == nil {
		return "", nil, false
	}
	to, err := base.Parse(attr(form, "action"))
	if err != nil {
		return "", nil, false
	}
	values = url.Values{}
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode && n.Data == "input" && attr(n, "name") != "" {
			values.Add(attr(n, "name"), attr(n, "value"))
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(form)
	if name := attr(button, "name"); name != "" {
		values.Set(name, attr(button, "value"))
	}
	return to.String(), values, true
}

// pageError returns the text of a page's #error, or the start of the page.
func pageError(page []byte) string {
	if doc, err := html.Parse(bytes.NewReader(page)); err == nil {
		if n := find(doc, func(n *html.Node) bool { return attr(n, "id") == "error" }); n != nil {
			return strings.TrimSpace(text(n))
		}
	}
	s := strings.TrimSpace(string(page))
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}

// find returns the first element under n that match accepts.
func find(n *html.Node, match func(*html.Node) bool) *html.Node {
	if n.Type == html.ElementNode && match(n) {
		return n
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if found := find(c, match); found != nil {
			return found
		}
	}
	return nil
}

func attr(n *html.Node, name string) string {
	for _, a := range n.Attr {
		if a.Key == name {
			return a.Val
		}
	}
	return ""
}

func text(n *html.Node) string {
	if n.Type == html.TextNode {
		return n.Data
	}
	var sb strings.Builder
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		sb.WriteString(text(c))
	}
	return sb.String()
}
