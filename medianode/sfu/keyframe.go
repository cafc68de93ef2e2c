package sfu

import "strings"

// isKeyframe reports whether an RTP payload starts a keyframe, for the
// codecs a subscriber can switch layers on. Unknown codecs return false.
func isKeyframe(mime string, payload []byte) bool {
	switch strings.ToLower(mime) {
	case "video/vp8":
		return vp8Keyframe(payload)
	case "video/h264":
		return h264Keyframe(payload)
	case "video/vp9":
		return vp9Keyframe(payload)
	}
	return false
}

// vp8Keyframe parses the VP8 payload descriptor (RFC 7741 §4.2) and the
// first byte of the VP8 payload header: a key frame starts a partition
// (S=1, PID=0) and has P=0 (RFC 6386 §9.1).
func vp8Keyframe(p []byte) bool {
	if len(p) < 1 {
		return false
	}
	s := p[0]&0x10 != 0
	pid := p[0] & 0x07
	i := 1
	if p[0]&0x80 != 0 { // X: extension byte
		if len(p) <= i {
			return false
		}
		x := p[i]
		i++
		if x&0x80 != 0 { // I: picture ID
			if len(p) <= i {
				return false
			}
			if p[i]&0x80 != 0 {
				i += 2
			} else {
				i++
			}
		}
		if x&0x40 != 0 { // L: TL0PICIDX
			i++
		}
		if x&0x30 != 0 { // T or K
			i++
		}
	}
	if !s || pid != 0 || len(p) <= i {
		return false
	}
	return p[i]&0x01 == 0
}

// h264Keyframe looks for an IDR slice (NAL type 5) or SPS (7) at the start
// of a single NAL unit, a STAP-A aggregate (RFC 6184 §5.7.1) or the first
// fragment of an FU-A (§5.8).
func h264Keyframe(p []byte) bool {
	if len(p) < 1 {
		return false
	}
	switch nal := p[0] & 0x1f; nal {
	case 5, 7:
		return true
	case 24: // STAP-A
		for i := 1; i+2 < len(p); {
			size := int(p[i])<<8 | int(p[i+1])
			if i+2 >= len(p) {
				return false
			}
			if t := p[i+2] & 0x1f; t == 5 || t == 7 {
				return true
			}
			i += 2 + size
		}
	case 28: // FU-A
		if len(p) < 2 {
			return false
		}
		return p[1]&0x80 != 0 && (p[1]&0x1f == 5 || p[1]&0x1f == 7)
	}
	return false
}

// vp9Keyframe reads the VP9 payload descriptor (RFC 9628 §4.2): a
// non-inter-predicted (P=0) start of frame (B=1).
func vp9Keyframe(p []byte) bool {
	if len(p) < 1 {
		return false
	}
	return p[0]&0x40 == 0 && p[0]&0x08 != 0
}
