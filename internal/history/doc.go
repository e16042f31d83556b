// Package history keeps imgup's own state under <root>/.imgup/, and nothing of it
// anywhere else:
//
//	.imgup/lock                      one apply or rollback at a time (flock)
//	.imgup/history/<id>/record.json  what an update did, rewritten at every step (the journal)
//	.imgup/history/<id>/backup/...   every file as it was before the update touched it
//
// A record is written, and every file backed up, before the first change is made; the
// record's State says how far the update got, so an interrupted update can be undone.
package history
