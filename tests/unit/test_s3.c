// SPDX-License-Identifier: MIT
// Unit tests of the S3 client's offline parts: its XML answers
// (src/net/ml_s3_xml: error codes, list pages, unescaping, hostile
// bodies), s3:// URLs, configuration from the environment and the
// refusals of ml_s3_new. The requests themselves are tested against a
// real server in tests/store.
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ml_error.h"
#include "net/ml_s3.h"
#include "net/ml_s3_xml.h"

static int
text(const char *xml, const char *tag, char *out, size_t cap)
{
    return ml_s3_xml_text(xml, strlen(xml), tag, out, cap);
}

static void
test_error_body(void **state)
{
    (void)state;
    static const char body[] =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>"
        "SignatureDoesNotMatch</Code><Message>The request signature we "
        "calculated does not match &amp; so on</Message></Error>";
    char out[256];
    assert_int_equal(text(body, "Code", out, sizeof out), 1);
    assert_string_equal(out, "SignatureDoesNotMatch");
    assert_int_equal(text(body, "Message", out, sizeof out), 1);
    assert_string_equal(out, "The request signature we calculated does not "
                             "match & so on");
    assert_int_equal(text(body, "RequestId", out, sizeof out), 0);
    assert_int_equal(text(body, "Code", out, 8), ML_ELIMIT);
    /* An unclosed element is absent, not read to the end. */
    assert_int_equal(text("<Code>abc", "Code", out, sizeof out), 0);
    assert_int_equal(text("", "Code", out, sizeof out), 0);
}

static void
test_unescape(void **state)
{
    (void)state;
    static const struct {
        const char *in, *out;
    } ok[] = {
        {"a&lt;b&gt;c&quot;d&apos;e&amp;f", "a<b>c\"d'e&f"},
        {"&#65;&#x42;&#x3b1;&#x65E5;&#x1F600;",
         "AB\xce\xb1\xe6\x97\xa5\xf0\x9f\x98\x80"},
        {"plain", "plain"},
        {"", ""},
    };
    char out[64];
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        int n =
            ml_s3_xml_unescape(ok[i].in, strlen(ok[i].in), out, sizeof out);
        assert_int_equal(n, (int)strlen(ok[i].out));
        assert_string_equal(out, ok[i].out);
    }
    static const char *bad[] = {"&nope;",
                                "&amp",
                                "&#;",
                                "&#x;",
                                "&#0;",
                                "&#xD800;",
                                "&#x110000;",
                                "&#12a;",
                                "&#x123456789;",
                                "&;",
                                "&verylongentityname;"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(
            ml_s3_xml_unescape(bad[i], strlen(bad[i]), out, sizeof out),
            ML_ECORRUPT);
    }
    /* A NUL inside the text. */
    assert_int_equal(ml_s3_xml_unescape("a\0b", 3, out, sizeof out),
                     ML_ECORRUPT);
    /* Room for the NUL is needed too. */
    assert_int_equal(ml_s3_xml_unescape("abcd", 4, out, 4), ML_ELIMIT);
    assert_int_equal(ml_s3_xml_unescape("&#x1F600;", 9, out, 4), ML_ELIMIT);
    assert_int_equal(ml_s3_xml_unescape("abc", 3, out, 4), 3);
}

typedef struct {
    char keys[8][64];
    uint64_t sizes[8];
    int n;
    int stop_after;
} seen;

static int
collect(void *ctx, const char *key, uint64_t size)
{
    seen *s = ctx;
    if (s->n >= 8) {
        return -99;
    }
    snprintf(s->keys[s->n], sizeof s->keys[0], "%s", key);
    s->sizes[s->n++] = size;
    return s->stop_after > 0 && s->n >= s->stop_after ? 7 : 0;
}

static int
page(const char *xml, seen *s, int *truncated, char *token, size_t cap)
{
    memset(s->keys, 0, sizeof s->keys);
    s->n = 0;
    return ml_s3_xml_list_page(xml, strlen(xml), collect, s, truncated, token,
                               cap);
}

#define PAGE_HEAD                                                             \
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?><ListBucketResult xmlns="      \
    "\"http://s3.amazonaws.com/doc/2006-03-01/\"><Name>b</Name>"

static void
test_list_page(void **state)
{
    (void)state;
    static const char xml[] =
        PAGE_HEAD "<Prefix>d/</Prefix><KeyCount>2</KeyCount>"
                  "<IsTruncated>true</IsTruncated><Contents><Key>d/a &amp; b"
                  "</Key><LastModified>2026-01-01T00:00:00Z</LastModified>"
                  "<Size>18446744073709551615</Size></Contents><Contents>"
                  "<Key>d/caf&#xE9;</Key><Size>0</Size></Contents>"
                  "<NextContinuationToken>1/a+b==</NextContinuationToken>"
                  "</ListBucketResult>";
    seen s = {0};
    int truncated = 0;
    char token[64];
    assert_int_equal(page(xml, &s, &truncated, token, sizeof token), 0);
    assert_int_equal(s.n, 2);
    assert_string_equal(s.keys[0], "d/a & b");
    assert_true(s.sizes[0] == UINT64_MAX);
    assert_string_equal(s.keys[1], "d/caf\xc3\xa9");
    assert_int_equal(s.sizes[1], 0);
    assert_int_equal(truncated, 1);
    assert_string_equal(token, "1/a+b==");
    /* The callback stops the page with its own value. */
    s.stop_after = 1;
    assert_int_equal(page(xml, &s, &truncated, token, sizeof token), 7);
    assert_int_equal(s.n, 1);
    s.stop_after = 0;
    /* An empty, final page. */
    assert_int_equal(page(PAGE_HEAD "<IsTruncated>false</IsTruncated>"
                                    "</ListBucketResult>",
                          &s, &truncated, token, sizeof token),
                     0);
    assert_int_equal(s.n, 0);
    assert_int_equal(truncated, 0);
    assert_string_equal(token, "");
}

static void
test_list_page_hostile(void **state)
{
    (void)state;
    static const char *bad[] = {
        "<Error><Code>x</Code></Error>",
        PAGE_HEAD "<Contents><Size>1</Size></Contents>",
        PAGE_HEAD "<Contents><Key>a</Key><Size>-1</Size></Contents>",
        PAGE_HEAD "<Contents><Key>a</Key><Size>18446744073709551616</Size>"
                  "</Contents>",
        PAGE_HEAD "<Contents><Key>a</Key><Size></Size></Contents>",
        PAGE_HEAD "<Contents><Key>a&bad;</Key></Contents>",
        PAGE_HEAD "<Contents><Key>a</Key>",
        PAGE_HEAD "<IsTruncated>truetruetruetrue!</IsTruncated>",
    };
    seen s = {0};
    int truncated;
    char token[64];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(page(bad[i], &s, &truncated, token, sizeof token),
                         ML_ECORRUPT);
    }
    /* A token longer than the caller's room. */
    assert_int_equal(page(PAGE_HEAD "<NextContinuationToken>0123456789"
                                    "</NextContinuationToken>",
                          &s, &truncated, token, 8),
                     ML_ELIMIT);
    /* The search never reads past len: the closing tag lies beyond it. */
    static const char cut[] = PAGE_HEAD "<Contents><Key>a</Key></Contents>";
    assert_int_equal(ml_s3_xml_list_page(cut, strlen(cut) - 3, collect, &s,
                                         &truncated, token, sizeof token),
                     ML_ECORRUPT);
}

static void
test_parse_url(void **state)
{
    (void)state;
    static const struct {
        const char *url, *bucket, *prefix;
    } ok[] = {
        {"s3://b/p/q/", "b", "p/q"},
        {"s3://b/p", "b", "p"},
        {"s3://b/", "b", ""},
        {"s3://b", "b", ""},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        char *b = NULL, *p = NULL;
        assert_int_equal(ml_s3_parse_url(ok[i].url, &b, &p), 0);
        assert_string_equal(b, ok[i].bucket);
        assert_string_equal(p, ok[i].prefix);
        free(b);
        free(p);
    }
    static const char *bad[] = {"s3://", "s3:///p", "http://b/p", "b/p", ""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *b = (char *)"untouched", *p = b;
        assert_int_equal(ml_s3_parse_url(bad[i], &b, &p), ML_EINVAL);
        assert_string_equal(b, "untouched");
    }
    char *b, *p;
    assert_int_equal(ml_s3_parse_url(NULL, &b, &p), ML_EINVAL);
}

static void
clear_env(void)
{
    static const char *vars[] = {
        "AWS_ACCESS_KEY_ID",     "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",     "AWS_REGION",
        "AWS_DEFAULT_REGION",    "AWS_ENDPOINT_URL_S3",
        "AWS_ENDPOINT_URL",      "MICROLOG_S3_PATH_STYLE",
        "MICROLOG_S3_TIMEOUT_MS"};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) {
        unsetenv(vars[i]);
    }
}

static void
test_config_from_env(void **state)
{
    (void)state;
    char why[256];
    ml_s3_config c;
    clear_env();
    assert_int_equal(ml_s3_config_from_env(&c, why, sizeof why), ML_EINVAL);
    assert_non_null(strstr(why, "AWS_ACCESS_KEY_ID"));
    setenv("AWS_ACCESS_KEY_ID", "AK", 1);
    assert_int_equal(ml_s3_config_from_env(&c, why, sizeof why), ML_EINVAL);
    assert_non_null(strstr(why, "AWS_SECRET_ACCESS_KEY"));
    setenv("AWS_SECRET_ACCESS_KEY", "SK", 1);
    setenv("AWS_DEFAULT_REGION", "eu-west-1", 1);
    setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9000", 1);
    assert_int_equal(ml_s3_config_from_env(&c, why, sizeof why), 0);
    assert_string_equal(c.region, "eu-west-1");
    assert_string_equal(c.endpoint, "http://127.0.0.1:9000");
    assert_int_equal(c.path_style, 1); /* an endpoint: path style */
    assert_null(c.session_token);
    assert_int_equal(c.timeout_ms, 0);
    /* The S3-specific and the newer names win. */
    setenv("AWS_REGION", "us-west-2", 1);
    setenv("AWS_ENDPOINT_URL_S3", "http://localhost:9", 1);
    setenv("MICROLOG_S3_PATH_STYLE", "false", 1);
    setenv("MICROLOG_S3_TIMEOUT_MS", "1500", 1);
    setenv("AWS_SESSION_TOKEN", "tok", 1);
    assert_int_equal(ml_s3_config_from_env(&c, why, sizeof why), 0);
    assert_string_equal(c.region, "us-west-2");
    assert_string_equal(c.endpoint, "http://localhost:9");
    assert_int_equal(c.path_style, 0);
    assert_int_equal(c.timeout_ms, 1500);
    assert_string_equal(c.session_token, "tok");
    setenv("MICROLOG_S3_PATH_STYLE", "sometimes", 1);
    assert_int_equal(ml_s3_config_from_env(&c, why, sizeof why), ML_EINVAL);
    assert_non_null(strstr(why, "MICROLOG_S3_PATH_STYLE"));
    setenv("MICROLOG_S3_PATH_STYLE", "1", 1);
    setenv("MICROLOG_S3_TIMEOUT_MS", "soon", 1);
    assert_int_equal(ml_s3_config_from_env(&c, why, sizeof why), ML_EINVAL);
    assert_non_null(strstr(why, "MICROLOG_S3_TIMEOUT_MS"));
    clear_env();
    /* No endpoint: AWS, virtual-host style. */
    setenv("AWS_ACCESS_KEY_ID", "AK", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "SK", 1);
    assert_int_equal(ml_s3_config_from_env(&c, why, sizeof why), 0);
    assert_null(c.endpoint);
    assert_null(c.region);
    assert_int_equal(c.path_style, 0);
    clear_env();
}

/* A client of a port where nothing listens: nothing may be sent. */
static const ml_s3_config NOWHERE = {.endpoint = "http://127.0.0.1:1",
                                     .access_key = "AK",
                                     .secret_key = "SK",
                                     .path_style = 1};

static void
test_new_refuses(void **state)
{
    (void)state;
    ml_s3 *s3 = NULL;
    ml_s3_config c = NOWHERE;
    assert_int_equal(ml_s3_new(&c, &s3), 0);
    ml_s3_free(s3);
    ml_s3_free(NULL);
    static const char *bad[] = {"ftp://h",       "http://",
                                "http://h/path", "127.0.0.1:9000",
                                "http://u@h:1",  "http://h h"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        c.endpoint = bad[i];
        s3 = NULL;
        assert_int_equal(ml_s3_new(&c, &s3), ML_EINVAL);
        assert_null(s3);
    }
    c.endpoint = NULL; /* AWS */
    assert_int_equal(ml_s3_new(&c, &s3), 0);
    ml_s3_free(s3);
    c.secret_key = "";
    assert_int_equal(ml_s3_new(&c, &s3), ML_EINVAL);
}

/* Invalid names are refused before anything is sent (the endpoint does
 * not exist). */
static void
test_bad_names_refused_offline(void **state)
{
    (void)state;
    ml_s3 *s3 = NULL;
    ml_s3_config c = NOWHERE;
    assert_int_equal(ml_s3_new(&c, &s3), 0);
    char why[256];
    static const char *buckets[] = {"ab",  "Upper", "a_b", "-ab",
                                    "ab.", "a/b",   "a b"};
    for (size_t i = 0; i < sizeof buckets / sizeof buckets[0]; i++) {
        assert_int_equal(ml_s3_delete(s3, buckets[i], "k", why, sizeof why),
                         ML_EINVAL);
        assert_non_null(strstr(why, "invalid bucket name"));
    }
    assert_int_equal(ml_s3_delete(s3, "bucket", "", why, sizeof why),
                     ML_EINVAL);
    char long_key[1100];
    memset(long_key, 'k', sizeof long_key - 1);
    long_key[sizeof long_key - 1] = '\0';
    assert_int_equal(
        ml_s3_put(s3, "bucket", long_key, "x", 1, 0, why, sizeof why),
        ML_EINVAL);
    ml_s3_free(s3);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_error_body),
        cmocka_unit_test(test_unescape),
        cmocka_unit_test(test_list_page),
        cmocka_unit_test(test_list_page_hostile),
        cmocka_unit_test(test_parse_url),
        cmocka_unit_test(test_config_from_env),
        cmocka_unit_test(test_new_refuses),
        cmocka_unit_test(test_bad_names_refused_offline),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
