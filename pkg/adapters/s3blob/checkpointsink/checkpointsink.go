// Package checkpointsink is the analytics service's app.CheckpointSink on
// S3: one object per signed audit checkpoint, in a bucket with Object Lock
// (compliance mode), so not even the credentials that wrote a checkpoint
// can rewrite or delete it before its retention ends (ADR 0014).
package checkpointsink

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/lattice-platform/lattice/pkg/adapters/s3blob"
	"github.com/lattice-platform/lattice/pkg/fault"
	"github.com/lattice-platform/lattice/services/analytics/app"
	"github.com/lattice-platform/lattice/services/analytics/domain"
)

// Sink is the S3 app.CheckpointSink: one object per signed
// audit checkpoint, under keys that sort by position, written once
// (If-None-Match) and, in a bucket created with Object Lock, kept in
// compliance mode for Retain — then not even the bucket's owner can
// delete or overwrite them before the date.
type Sink struct {
	client *s3.Client
	bucket string
	retain time.Duration
	locked bool
}

var _ app.CheckpointSink = (*Sink)(nil)

// Config names the bucket; Retain (default ten years) applies
// when the bucket has Object Lock.
type Config struct {
	s3blob.Config
	Retain time.Duration
}

const checkpointPrefix = "audit-checkpoints/"

// New opens the bucket, creating it with Object Lock enabled
// when it does not exist.
func New(ctx context.Context, cfg Config) (*Sink, error) {
	if cfg.Retain <= 0 {
		cfg.Retain = 10 * 365 * 24 * time.Hour
	}
	client, err := s3blob.OpenBucket(ctx, cfg.Config, &s3.CreateBucketInput{Bucket: &cfg.Bucket, ObjectLockEnabledForBucket: aws.Bool(true)})
	if err != nil {
		return nil, err
	}
	s := &Sink{client: client, bucket: cfg.Bucket, retain: cfg.Retain}
	lock, err := client.GetObjectLockConfiguration(ctx, &s3.GetObjectLockConfigurationInput{Bucket: &cfg.Bucket})
	s.locked = err == nil && lock.ObjectLockConfiguration != nil && lock.ObjectLockConfiguration.ObjectLockEnabled == types.ObjectLockEnabledEnabled
	return s, nil
}

// Locked reports whether the bucket keeps checkpoints under Object Lock.
func (s *Sink) Locked() bool { return s.locked }

type checkpointObject struct {
	Seq       int64     `json:"seq"`
	Hash      []byte    `json:"hash"`
	At        time.Time `json:"at"`
	KeyID     string    `json:"key_id"`
	Signature []byte    `json:"signature"`
}

// checkpointKey sorts by position, then time: 20-digit numbers.
func checkpointKey(seq int64, at time.Time) string {
	return fmt.Sprintf("%s%020d-%020d.json", checkpointPrefix, seq, at.UnixNano())
}

// Export writes cp once; an object already there (the same checkpoint)
// is left as it is.
func (s *Sink) Export(ctx context.Context, cp domain.Checkpoint) error {
	body, err := json.Marshal(checkpointObject{Seq: cp.Seq, Hash: cp.Hash[:], At: cp.At.UTC(), KeyID: cp.KeyID, Signature: cp.Signature})
	if err != nil {
		return err
	}
	key := checkpointKey(cp.Seq, cp.At)
	if _, err := s.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &s.bucket, Key: &key}); err == nil {
		return nil // exported before; under Object Lock it could not be written again anyway
	}
	in := &s3.PutObjectInput{Bucket: &s.bucket, Key: &key, Body: bytes.NewReader(body),
		ContentType: aws.String("application/json"), IfNoneMatch: aws.String("*")}
	if s.locked {
		in.ObjectLockMode = types.ObjectLockModeCompliance
		in.ObjectLockRetainUntilDate = aws.Time(time.Now().Add(s.retain))
	}
	_, err = s.client.PutObject(ctx, in)
	var api smithy.APIError
	if errors.As(err, &api) && (api.ErrorCode() == "PreconditionFailed" || api.ErrorCode() == "ConditionalRequestConflict") {
		return nil // written before: write-once
	}
	if err != nil {
		return fault.Wrap(fault.Unavailable, "the checkpoint sink did not store the checkpoint", err)
	}
	return nil
}

// Exported lists the objects from position from on and reads those up to
// to.
func (s *Sink) Exported(ctx context.Context, from, to int64) ([]domain.Checkpoint, error) {
	var out []domain.Checkpoint
	start := fmt.Sprintf("%s%020d", checkpointPrefix, max(from, 0))
	pages := s3.NewListObjectsV2Paginator(s.client, &s3.ListObjectsV2Input{Bucket: &s.bucket, Prefix: aws.String(checkpointPrefix), StartAfter: aws.String(start)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, fault.Wrap(fault.Unavailable, "the checkpoint sink cannot be listed", err)
		}
		for _, obj := range page.Contents {
			seq, err := strconv.ParseInt((*obj.Key)[len(checkpointPrefix):len(checkpointPrefix)+20], 10, 64)
			if err != nil {
				return nil, fmt.Errorf("s3: checkpoint object %s: %w", *obj.Key, err)
			}
			if seq > to {
				return out, nil
			}
			if seq < from {
				continue
			}
			cp, err := s.read(ctx, *obj.Key)
			if err != nil {
				return nil, err
			}
			out = append(out, cp)
		}
	}
	return out, nil
}

func (s *Sink) read(ctx context.Context, key string) (domain.Checkpoint, error) {
	obj, err := s.client.GetObject(ctx, &s3.GetObjectInput{Bucket: &s.bucket, Key: &key})
	if err != nil {
		return domain.Checkpoint{}, fault.Wrap(fault.Unavailable, "the checkpoint sink cannot be read", err)
	}
	defer obj.Body.Close()
	var c checkpointObject
	if err := json.NewDecoder(io.LimitReader(obj.Body, 4<<10)).Decode(&c); err != nil {
		return domain.Checkpoint{}, fmt.Errorf("s3: checkpoint object %s is not one: %w", key, err)
	}
	var h domain.Hash
	if len(c.Hash) != len(h) {
		return domain.Checkpoint{}, fmt.Errorf("s3: checkpoint object %s has a malformed hash", key)
	}
	copy(h[:], c.Hash)
	return domain.Checkpoint{Seq: c.Seq, Hash: h, At: c.At.UTC(), KeyID: c.KeyID, Signature: c.Signature}, nil
}
