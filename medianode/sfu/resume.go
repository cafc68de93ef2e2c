package sfu

import (
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v4"
)

// A full participant's signaling connection can drop while its media
// connection lives on (a Wi-Fi blip, a phone changing networks, a proxy
// timing out the WebSocket). The session then survives for
// Limits.ResumeGrace: Detach keeps it, with its tracks and subscriptions
// and without telling the room, and Resume attaches the client's new
// signaling connection to it (same grant, same identity), after which the
// client restarts ICE with an offer. Nobody else in the room sees the
// interruption. If nothing resumes it within the grace, the session ends
// as lost.

// ErrNoSessionToResume: there is no live session of that grant and
// identity in the room (it ended, or never existed); join instead.
var ErrNoSessionToResume = errors.New("no session to resume")

// switchSignal is a full participant's Signal: the current signaling
// connection, swapped by Resume; nil while detached, when sends are
// dropped (the client learns the state from "joined" on resume).
type switchSignal struct {
	cur atomic.Pointer[signalBox]
}

type signalBox struct{ s Signal }

func (w *switchSignal) get() Signal {
	if b := w.cur.Load(); b != nil {
		return b.s
	}
	return nil
}

func (w *switchSignal) set(s Signal) {
	if s == nil {
		w.cur.Store(nil)
		return
	}
	w.cur.Store(&signalBox{s})
}

func (w *switchSignal) SendOffer(d webrtc.SessionDescription) error {
	if s := w.get(); s != nil {
		return s.SendOffer(d)
	}
	return nil
}

func (w *switchSignal) SendAnswer(d webrtc.SessionDescription) error {
	if s := w.get(); s != nil {
		return s.SendAnswer(d)
	}
	return nil
}

func (w *switchSignal) SendCandidate(c webrtc.ICECandidateInit) error {
	if s := w.get(); s != nil {
		return s.SendCandidate(c)
	}
	return nil
}

func (w *switchSignal) SendEvent(ev Event) error {
	if s := w.get(); s != nil {
		return s.SendEvent(ev)
	}
	return nil
}

func (w *switchSignal) Close(reason string) {
	if s := w.get(); s != nil {
		s.Close(reason)
	}
}

// detachState is a participant's detached-signaling state.
type detachState struct {
	mu    sync.Mutex
	timer *time.Timer // non-nil while detached
	since time.Time
}

// Detach records that sig, the participant's signaling connection, was
// lost without a leave: the session stays for ResumeGrace (media keeps
// flowing where the network allows), then ends with "connection lost:
// <reason>" unless Resume attaches a new connection first. A connection
// that is no longer the participant's (Resume replaced it) is ignored;
// WHIP and WHEP sessions are closed at once.
func (p *Participant) Detach(sig Signal, reason string) {
	if p.kind != KindFull || p.sw == nil {
		p.Close(reason)
		return
	}
	p.mu.Lock()
	closed := p.closed
	p.mu.Unlock()
	if closed || p.sw.get() != sig {
		return
	}
	p.sw.set(nil)
	grace := p.room.sfu.limits.ResumeGrace
	p.detach.mu.Lock()
	if p.detach.timer != nil {
		p.detach.timer.Stop()
	}
	p.detach.since = time.Now()
	p.detach.timer = time.AfterFunc(grace, func() { p.Close("connection lost: " + reason) })
	p.detach.mu.Unlock()
	p.room.sfu.metrics.detached.Inc()
	p.log.Info("signaling lost; session kept for resume", "reason", reason, "grace", grace)
}

// Resume attaches sig, a new signaling connection, to the live full
// session of identity in room that grantID started, and returns it. The
// caller sends "joined" on sig, then calls ResendOffer. Errors:
// ErrNoSessionToResume (join instead), ErrIdentityInUse (another grant's
// session).
func (s *SFU) Resume(room, identity, grantID string, sig Signal) (*Participant, error) {
	r, err := s.room(room, false)
	if err != nil {
		return nil, ErrNoSessionToResume
	}
	p, ok := r.Participant(identity)
	if !ok || p.kind != KindFull || p.sw == nil {
		return nil, ErrNoSessionToResume
	}
	if p.grantID != grantID {
		return nil, ErrIdentityInUse
	}
	p.detach.mu.Lock()
	if t := p.detach.timer; t != nil && !t.Stop() {
		p.detach.mu.Unlock()
		return nil, ErrNoSessionToResume // the grace just ran out: it is closing
	}
	wasDetached := p.detach.timer != nil
	away := time.Since(p.detach.since)
	p.detach.timer = nil
	p.detach.mu.Unlock()
	p.mu.Lock()
	closed := p.closed
	p.mu.Unlock()
	if closed {
		return nil, ErrNoSessionToResume
	}
	if !wasDetached {
		// The old connection has not been seen to drop yet (half-open
		// TCP): the new one takes over; the old one is closed quietly.
		old := p.sw.get()
		p.sw.set(sig)
		if old != nil {
			old.Close("resumed on a new connection")
		}
		away = 0
	} else {
		p.sw.set(sig)
	}
	s.metrics.resumes.Inc()
	p.log.Info("session resumed", "away", away.Round(time.Millisecond))
	return p, nil
}

// ResendOffer sends the node's pending offer again, if one awaits an
// answer (it may have been lost with the old connection).
func (p *Participant) ResendOffer() {
	p.sdpMu.Lock()
	defer p.sdpMu.Unlock()
	if p.pc.SignalingState() == webrtc.SignalingStateHaveLocalOffer {
		if local := p.pc.LocalDescription(); local != nil {
			_ = p.signal.SendOffer(*local)
		}
	}
}
