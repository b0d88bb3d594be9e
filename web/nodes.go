package web

import (
	"context"
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/wharfhq/wharf"
)

// NodeService is what the API routes for a swarm's nodes and an app's
// placement need from the daemon. With the single-engine scheduler the
// node methods answer EINVALID, saying nodes need a swarm.
type NodeService interface {
	// Nodes lists the swarm's nodes with this installation's running tasks.
	Nodes(ctx context.Context) ([]wharf.Node, error)
	// DrainNode moves every task off a node (id, id prefix or hostname)
	// with no failed request and sets it to drain; it returns once done,
	// with the progress lines.
	DrainNode(ctx context.Context, user, node string) (NodeAction, error)
	// ActivateNode lets tasks be scheduled on a node again.
	ActivateNode(ctx context.Context, user, node string) (NodeAction, error)

	// Placement returns the app's placement constraints.
	Placement(ctx context.Context, app string) (Placement, error)
	// SetPlacement validates and replaces the app's constraints (an empty
	// list removes them) and, on a swarm, applies them to the running
	// release at once.
	SetPlacement(ctx context.Context, user, app string, constraints []string) (Placement, error)
}

// NodeAction is the answer to a drain or an activation.
type NodeAction struct {
	Node   string   `json:"node"`   // as asked for
	Output []string `json:"output"` // progress, one line each
}

// Placement is an app's placement constraints (wharf ps:placement), in
// Swarm's syntax, e.g. node.labels.tier==web.
type Placement struct {
	App         string   `json:"app"`
	Constraints []string `json:"constraints"`
	// Applied is true when a change was rolled out to the running release.
	Applied bool `json:"applied"`
	// Note says when the constraints take effect, if not at once.
	Note string `json:"note,omitempty"`
	// Output is the rollout's progress, one line each.
	Output []string `json:"output,omitempty"`
}

// placementRequest is the body of PUT /apps/{app}/placement.
type placementRequest struct {
	Constraints *[]string `json:"constraints"`
}

// nodeRoutes registers the API routes for nodes (admins only) and
// placement (whoever may access the app).
func (s *server) nodeRoutes(r chi.Router) {
	r.Get("/nodes", s.api(s.admin(s.listNodes)))
	r.Post("/nodes/{node}/drain", s.api(s.admin(s.drainNode)))
	r.Post("/nodes/{node}/activate", s.api(s.admin(s.activateNode)))
	r.Get("/apps/{app}/placement", s.api(s.getPlacement))
	r.Put("/apps/{app}/placement", s.api(s.setPlacement))
}

// listNodes answers GET /nodes with []wharf.Node.
func (s *server) listNodes(w http.ResponseWriter, r *http.Request, _ string) error {
	nodes, err := s.svc.Nodes(r.Context())
	if err != nil {
		return err
	}
	if nodes == nil {
		nodes = []wharf.Node{}
	}
	writeJSON(w, http.StatusOK, nodes)
	return nil
}

// drainNode answers POST /nodes/{node}/drain, once the drain is over, with
// a NodeAction.
func (s *server) drainNode(w http.ResponseWriter, r *http.Request, user string) error {
	res, err := s.svc.DrainNode(r.Context(), user, chi.URLParam(r, "node"))
	return writeNodeAction(w, res, err)
}

// activateNode answers POST /nodes/{node}/activate with a NodeAction.
func (s *server) activateNode(w http.ResponseWriter, r *http.Request, user string) error {
	res, err := s.svc.ActivateNode(r.Context(), user, chi.URLParam(r, "node"))
	return writeNodeAction(w, res, err)
}

func writeNodeAction(w http.ResponseWriter, a NodeAction, err error) error {
	if err != nil {
		return err
	}
	if a.Output == nil {
		a.Output = []string{}
	}
	writeJSON(w, http.StatusOK, a)
	return nil
}

// getPlacement answers GET /apps/{app}/placement with a Placement.
func (s *server) getPlacement(w http.ResponseWriter, r *http.Request, _ string) error {
	p, err := s.svc.Placement(r.Context(), chi.URLParam(r, "app"))
	return writePlacement(w, p, err)
}

// setPlacement answers PUT /apps/{app}/placement {"constraints": [...]}
// ([] removes them) with the new Placement.
func (s *server) setPlacement(w http.ResponseWriter, r *http.Request, user string) error {
	var req placementRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if req.Constraints == nil {
		return wharf.Errorf(wharf.EINVALID, `no constraints given: send {"constraints": ["node.labels.tier==web"]}, or {"constraints": []} to remove them`)
	}
	p, err := s.svc.SetPlacement(r.Context(), user, chi.URLParam(r, "app"), *req.Constraints)
	return writePlacement(w, p, err)
}

func writePlacement(w http.ResponseWriter, p Placement, err error) error {
	if err != nil {
		return err
	}
	if p.Constraints == nil {
		p.Constraints = []string{}
	}
	writeJSON(w, http.StatusOK, p)
	return nil
}
