// Package archive reads Docker image archives — runbook step 1, before `docker load`.
//
// It owns format detection (from magic bytes, never from file names), decompression
// (gzip, zstd, xz, bzip2) and the layouts operators receive: a plain `docker save` tar
// (classic manifest.json layout or the OCI layout Docker 25+ writes), the same piped
// through a compressor, and the vendor bundle: a compressed tar that holds one or more
// docker-save tars.
//
// It promises to read each archive exactly once, as a stream: no temporary copy on disk,
// memory bounded by small metadata files only. While it reads, it can hand the plain
// docker-save tar of each part to a sink (the engine's load API); the trailing metadata
// of each part is held back until the part has been checked, so a sink never receives a
// complete archive that is invalid or that the caller chose to skip.
package archive
