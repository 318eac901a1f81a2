package config

// Presence is the configuration of the presence function, which records the
// AWS IoT presence events a topic rule delivers: its table and log level.
type Presence struct {
	Base
}

// LoadPresence reads the presence function's configuration.
func LoadPresence(env Lookup) (Presence, error) {
	r := reader{env: env}
	c := Presence{Base: r.base()}
	return c, r.err()
}
