package wharf

import (
	"regexp"
	"slices"
	"strings"
)

// PlacementRule is the rule a placement constraint follows (Swarm's
// constraint syntax, with the attributes Wharf lets apps use), quoted in
// errors: an attribute, == or !=, then a value.
const PlacementRule = `(node.id|node.hostname|node.role|node.platform.os|node.platform.arch|node.labels.<key>|engine.labels.<key>)(==|!=)<value>`

// placementRE is PlacementRule as a regular expression: label keys are
// letters, digits, _ . and -; values letters, digits, _ . : / and -.
// Spaces around the operator are allowed, as Swarm allows them.
var placementRE = regexp.MustCompile(`^(node\.id|node\.hostname|node\.role|node\.platform\.os|node\.platform\.arch|` +
	`(?:node|engine)\.labels\.[A-Za-z0-9_][A-Za-z0-9_.-]*)\s*(==|!=)\s*([A-Za-z0-9_.:/-]+)$`)

// MaxPlacement bounds how many constraints an app may have.
const MaxPlacement = 32

// ValidatePlacement checks one placement constraint, such as
// node.labels.tier==web or node.role!=manager, and returns it written
// without spaces. Anything else is an EINVALID error quoting the rule.
func ValidatePlacement(constraint string) (string, error) {
	c := strings.TrimSpace(constraint)
	m := placementRE.FindStringSubmatch(c)
	if m == nil || len(c) > 255 {
		return "", Errorf(EINVALID, "invalid placement constraint %q: constraints must match %s, e.g. node.labels.tier==web or node.role!=manager "+
			"(label keys: letters, digits, _ . -; values: letters, digits, _ . : / -)", constraint, PlacementRule)
	}
	if m[1] == "node.role" && m[3] != "manager" && m[3] != "worker" {
		return "", Errorf(EINVALID, "invalid placement constraint %q: node.role is manager or worker", constraint)
	}
	return m[1] + m[2] + m[3], nil
}

// ParsePlacement validates an app's whole list of constraints and returns
// them normalized (ValidatePlacement), in order, without duplicates. An
// empty list is valid: the app runs anywhere.
func ParsePlacement(constraints []string) ([]string, error) {
	out := []string{}
	for _, c := range constraints {
		n, err := ValidatePlacement(c)
		if err != nil {
			return nil, err
		}
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	if len(out) > MaxPlacement {
		return nil, Errorf(EINVALID, "too many placement constraints (%d): at most %d", len(out), MaxPlacement)
	}
	return out, nil
}

// Matches reports whether n satisfies every constraint (normalized by
// ValidatePlacement), comparing as Swarm does: case-insensitively, a label
// n lacks being "". Attributes a Node does not carry (node.platform.*,
// engine.labels.*) are taken to match, so only Swarm can refuse on them.
func (n Node) Matches(constraints []string) bool {
	for _, c := range constraints {
		op := "=="
		key, value, ok := strings.Cut(c, op)
		if !ok {
			op = "!="
			key, value, _ = strings.Cut(c, op)
		}
		var have string
		switch {
		case key == "node.id":
			have = n.ID
		case key == "node.hostname":
			have = n.Hostname
		case key == "node.role":
			have = n.Role
		case strings.HasPrefix(key, "node.labels."):
			have = n.Labels[strings.TrimPrefix(key, "node.labels.")]
		default:
			continue
		}
		if strings.EqualFold(have, value) != (op == "==") {
			return false
		}
	}
	return true
}
