package builder

import (
	"errors"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/storer"
	"github.com/go-git/go-git/v5/storage/filesystem"
)

// errReadOnly is returned by the chain's write methods: the builder must
// never write into a repository or a push's quarantine.
var errReadOnly = errors.New("builder: object storage is read-only")

// chain is a read-only object storer that looks an object up in each of its
// storages in turn. Methods it does not override (iteration) see only the
// first storage; reading a tree never needs them.
type chain struct {
	storer.EncodedObjectStorer
	stores []storer.EncodedObjectStorer
}

func newChain(stores []*filesystem.Storage) *chain {
	c := &chain{EncodedObjectStorer: stores[0]}
	for _, s := range stores {
		c.stores = append(c.stores, s)
	}
	return c
}

func (c *chain) EncodedObject(t plumbing.ObjectType, h plumbing.Hash) (plumbing.EncodedObject, error) {
	for _, s := range c.stores {
		o, err := s.EncodedObject(t, h)
		if !errors.Is(err, plumbing.ErrObjectNotFound) {
			return o, err
		}
	}
	return nil, plumbing.ErrObjectNotFound
}

func (c *chain) HasEncodedObject(h plumbing.Hash) error {
	for _, s := range c.stores {
		if err := s.HasEncodedObject(h); !errors.Is(err, plumbing.ErrObjectNotFound) {
			return err
		}
	}
	return plumbing.ErrObjectNotFound
}

func (c *chain) EncodedObjectSize(h plumbing.Hash) (int64, error) {
	for _, s := range c.stores {
		n, err := s.EncodedObjectSize(h)
		if !errors.Is(err, plumbing.ErrObjectNotFound) {
			return n, err
		}
	}
	return 0, plumbing.ErrObjectNotFound
}

func (c *chain) SetEncodedObject(plumbing.EncodedObject) (plumbing.Hash, error) {
	return plumbing.ZeroHash, errReadOnly
}

func (c *chain) AddAlternate(string) error { return errReadOnly }
