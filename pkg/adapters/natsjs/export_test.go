package natsjs

import "time"

// SetGroupAckWait shortens SubscribeGroups' AckWait, so that a test can
// hold a group for longer than it.
func SetGroupAckWait(s *Subscriber, d time.Duration) { s.ackWaitOfGroups = d }

// SetChunkSetLimit lowers the bytes Fetch reads of one chunk set, so that
// a test crosses it with a small object.
func SetChunkSetLimit(c *ChunkSets, n int64) { c.maxBytes = n }
