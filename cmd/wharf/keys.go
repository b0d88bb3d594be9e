package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"

	"github.com/wharfhq/wharf"
)

// keysList is `wharf keys`.
func keysList(ctx context.Context, c *cli, args []string) error {
	fs := flagSet("keys")
	asJSON := fs.Bool("json", false, "print the API's JSON")
	if _, err := parse(c, fs, args, 0, 0); err != nil {
		return err
	}
	var keys []wharf.Key
	raw, err := c.api.get(ctx, "/keys", &keys)
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(c.stdout, raw)
	}
	if len(keys) == 0 {
		_, err := fmt.Fprintln(c.stdout, "No SSH keys yet. Add yours with: wharf keys:add")
		return err
	}
	tw := table(c.stdout)
	fmt.Fprintln(tw, "NAME\tOWNER\tFINGERPRINT\tADDED")
	for _, k := range keys {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", k.Name, k.Owner, k.Fingerprint, date(k.CreatedAt))
	}
	return tw.Flush()
}

// keysAdd is `wharf keys:add [FILE] [--name NAME]`.
func keysAdd(ctx context.Context, c *cli, args []string) error {
	fs := flagSet("keys:add")
	name := fs.String("name", "", "key name (default: the key's comment)")
	asJSON := fs.Bool("json", false, "print the API's JSON")
	pos, err := parse(c, fs, args, 0, 1)
	if err != nil {
		return err
	}
	var path string
	if len(pos) == 1 {
		path = pos[0]
	} else if path, err = defaultPublicKey(c.env("HOME")); err != nil {
		return err
	}
	pk, err := readPublicKey(path)
	if err != nil {
		return err
	}
	if *name == "" {
		*name = pk.defaultName()
	}
	raw, err := c.api.do(ctx, http.MethodPost, "/keys", map[string]string{"name": *name, "public_key": pk.line})
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(c.stdout, raw)
	}
	var key wharf.Key
	if err := decodeAnswer(raw, &key); err != nil {
		return err
	}
	_, err = fmt.Fprintf(c.stdout, "Added key %s (%s) from %s.\n", key.Name, key.Fingerprint, path)
	return err
}

// keysRemove is `wharf keys:remove NAME`.
func keysRemove(ctx context.Context, c *cli, args []string) error {
	fs := flagSet("keys:remove")
	pos, err := parse(c, fs, args, 1, 1)
	if err != nil {
		return err
	}
	if _, err := c.api.do(ctx, http.MethodDelete, "/keys/"+url.PathEscape(pos[0]), nil); err != nil {
		return err
	}
	_, err = fmt.Fprintf(c.stdout, "Removed key %s.\n", pos[0])
	return err
}
