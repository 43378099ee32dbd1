// SPDX-License-Identifier: MIT
// The two XML answers the S3 client reads, parsed by bounded tag search
// rather than a general XML parser: S3's error body (<Code>, <Message>)
// and one page of ListObjectsV2 (<Contents> with <Key> and <Size>,
// <IsTruncated>, <NextContinuationToken>). Text is XML-unescaped; the
// input is the server's and so hostile: every search stays inside
// [xml, xml + len) and nothing is assumed to be NUL-terminated.
#ifndef ML_S3_XML_H
#define ML_S3_XML_H

#include <stddef.h>
#include <stdint.h>

/* The longest key S3 allows is 1024 bytes; tokens are opaque but short. */
enum {
    ML_S3_XML_MAX_TEXT = 4096
};

/* The unescaped text of the first <tag>...</tag> in xml, into out
 * (NUL-terminated). Returns 1 when found, 0 when absent, ML_ECORRUPT for
 * a bad entity or a NUL in the text, ML_ELIMIT when it needs more than
 * cap - 1 bytes. */
int ml_s3_xml_text(const char *xml, size_t len, const char *tag, char *out,
                   size_t cap);

/* Unescapes xml[0..len) (&amp; &lt; &gt; &quot; &apos; &#N; &#xH;) into
 * out. Returns the length written (NUL added), ML_ECORRUPT or
 * ML_ELIMIT. */
int ml_s3_xml_unescape(const char *xml, size_t len, char *out, size_t cap);

typedef int (*ml_s3_xml_entry_fn)(void *ctx, const char *key, uint64_t size);

/* Calls each(ctx, key, size) for every <Contents> of one ListObjectsV2
 * page in order; sets *truncated from <IsTruncated> and copies
 * <NextContinuationToken> into token ("" when absent). Returns 0, what
 * each returned when not 0, or ML_ECORRUPT (a <Contents> without <Key>,
 * a <Size> that is not a number, no <ListBucketResult>) or ML_ELIMIT. */
int ml_s3_xml_list_page(const char *xml, size_t len, ml_s3_xml_entry_fn each,
                        void *ctx, int *truncated, char *token,
                        size_t token_cap);

#endif
