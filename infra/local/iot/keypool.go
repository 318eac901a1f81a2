package iot

import (
	"sync"
)

// keyPool hands out RSA key pairs generated ahead of time by one background
// worker, so that a CreateProvisioningClaim or CreateKeysAndCertificate
// arriving after a quiet moment does not wait the tens of milliseconds an
// RSA-2048 key takes. Each pair is handed out once. When the pool is empty,
// take generates one on the spot, as if there were no pool: under sustained
// load the work is the same, and the pool smooths bursts.
//
// One worker, not one per CPU: the pool fills while the stack is idle, and
// a worker per CPU would take the CPUs from the requests it is meant to
// speed up.
type keyPool struct {
	ready    chan keyPair
	generate func() (keyPair, error)
	stop     chan struct{}
	stopOnce sync.Once
	done     sync.WaitGroup
}

// newKeyPool starts a pool holding up to size pairs made by generate. A size
// of zero or less makes a pool that holds none: take always generates.
func newKeyPool(size int, generate func() (keyPair, error)) *keyPool {
	p := &keyPool{generate: generate, stop: make(chan struct{})}
	if size <= 0 {
		return p
	}
	p.ready = make(chan keyPair, size)
	p.done.Add(1)
	go p.fill()
	return p
}

// fill keeps the pool full until close. A failed generation is not retried
// in a loop: the worker stops, and take reports the error when it
// generates on the spot.
func (p *keyPool) fill() {
	defer p.done.Done()
	for {
		select {
		case <-p.stop:
			return
		default:
		}
		k, err := p.generate()
		if err != nil {
			return
		}
		select {
		case p.ready <- k:
		case <-p.stop:
			return
		}
	}
}

// take returns a key pair that no one else has been given.
func (p *keyPool) take() (keyPair, error) {
	select {
	case k := <-p.ready:
		return k, nil
	default:
		return p.generate()
	}
}

// close stops the worker and waits for it; the pairs it held are dropped.
func (p *keyPool) close() {
	p.stopOnce.Do(func() { close(p.stop) })
	p.done.Wait()
}
