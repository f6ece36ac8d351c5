package modules

// HealthStatus is a module's overall health.
type HealthStatus string

// The health statuses.
const (
	StatusHealthy   HealthStatus = "healthy"
	StatusDegraded  HealthStatus = "degraded"
	StatusUnhealthy HealthStatus = "unhealthy"
)

// Health is what a module reports about itself. Ready gates dependents (a
// hard dependent starts only once this module is ready); Live false means the
// module should be restarted under its restart policy.
type Health struct {
	Status  HealthStatus      `json:"status"`
	Ready   bool              `json:"ready"`
	Live    bool              `json:"live"`
	Details map[string]string `json:"details,omitempty"`
}

// Healthy returns a healthy, ready, live Health with an optional detail.
func Healthy(detail string) Health {
	h := Health{Status: StatusHealthy, Ready: true, Live: true}
	if detail != "" {
		h.Details = map[string]string{"detail": detail}
	}
	return h
}
