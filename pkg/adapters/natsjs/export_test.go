package natsjs

import "time"

// SetGroupAckWait shortens SubscribeGroups' AckWait, so that a test can
// hold a group for longer than it.
func SetGroupAckWait(s *Subscriber, d time.Duration) { s.ackWaitOfGroups = d }
