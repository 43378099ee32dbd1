// SPDX-License-Identifier: MIT
// Unit tests of src/net/ml_sigv4 against AWS's published examples: the
// S3 "Signature Calculations for the Authorization Header" examples (GET
// Object with a range, PUT Object, GET Bucket Lifecycle, GET Bucket with
// max-keys and prefix) and one case of the Signature V4 test suite (query
// order). Then the encoding, trimming and the refusals.
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "core/ml_buf.h"
#include "core/ml_error.h"
#include "net/ml_sigv4.h"

#define EMPTY_SHA256                                                          \
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

static const ml_sigv4_key S3_EXAMPLE_KEY = {
    "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "us-east-1", "s3"};

typedef struct {
    const char *what;
    ml_sigv4_request req;
    const char *canonical;     /* NULL: not published */
    const char *sts_last_line; /* hex SHA-256 of the canonical request */
    const char *auth;
} vector;

static const ml_sigv4_pair GET_OBJECT_HEADERS[] = {
    {"Host", "examplebucket.s3.amazonaws.com"},
    {"Range", "bytes=0-9"},
    {"x-amz-content-sha256", EMPTY_SHA256},
    {"x-amz-date", "20130524T000000Z"},
};

#define PUT_SHA256                                                            \
    "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072"
static const ml_sigv4_pair PUT_OBJECT_HEADERS[] = {
    {"Host", "examplebucket.s3.amazonaws.com"},
    {"Date", "Fri, 24 May 2013 00:00:00 GMT"},
    {"x-amz-date", "20130524T000000Z"},
    {"x-amz-storage-class", "REDUCED_REDUNDANCY"},
    {"x-amz-content-sha256", PUT_SHA256},
};

static const ml_sigv4_pair BUCKET_HEADERS[] = {
    {"Host", "examplebucket.s3.amazonaws.com"},
    {"x-amz-date", "20130524T000000Z"},
    {"x-amz-content-sha256", EMPTY_SHA256},
};

static const vector S3_VECTORS[] = {
    {"GET Object, Range bytes=0-9",
     {"GET", "/test.txt", "", GET_OBJECT_HEADERS, 4, "20130524T000000Z",
      EMPTY_SHA256},
     "GET\n/test.txt\n\nhost:examplebucket.s3.amazonaws.com\n"
     "range:bytes=0-9\nx-amz-content-sha256:" EMPTY_SHA256 "\n"
     "x-amz-date:20130524T000000Z\n\n"
     "host;range;x-amz-content-sha256;x-amz-date\n" EMPTY_SHA256,
     "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972",
     "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/"
     "s3/aws4_request,SignedHeaders=host;range;x-amz-content-sha256;"
     "x-amz-date,Signature="
     "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"},
    {"PUT Object test$file.text",
     {"PUT", "/test%24file.text", "", PUT_OBJECT_HEADERS, 5,
      "20130524T000000Z", PUT_SHA256},
     "PUT\n/test%24file.text\n\ndate:Fri, 24 May 2013 00:00:00 GMT\n"
     "host:examplebucket.s3.amazonaws.com\n"
     "x-amz-content-sha256:" PUT_SHA256 "\nx-amz-date:20130524T000000Z\n"
     "x-amz-storage-class:REDUCED_REDUNDANCY\n\n"
     "date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-"
     "class\n" PUT_SHA256,
     "9e0e90d9c76de8fa5b200d8c849cd5b8dc7a3be3951ddb7f6a76b4158342019d",
     "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/"
     "s3/aws4_request,SignedHeaders=date;host;x-amz-content-sha256;"
     "x-amz-date;x-amz-storage-class,Signature="
     "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd"},
    {"GET Bucket Lifecycle",
     {"GET", "/", "lifecycle=", BUCKET_HEADERS, 3, "20130524T000000Z",
      EMPTY_SHA256},
     "GET\n/\nlifecycle=\nhost:examplebucket.s3.amazonaws.com\n"
     "x-amz-content-sha256:" EMPTY_SHA256 "\n"
     "x-amz-date:20130524T000000Z\n\n"
     "host;x-amz-content-sha256;x-amz-date\n" EMPTY_SHA256,
     "9766c798316ff2757b517bc739a67f6213b4ab36dd5da2f94eaebf79c77395ca",
     "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/"
     "s3/aws4_request,SignedHeaders=host;x-amz-content-sha256;x-amz-date,"
     "Signature="
     "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543"},
    {"GET Bucket (List Objects) max-keys=2, prefix=J",
     {"GET", "/", "max-keys=2&prefix=J", BUCKET_HEADERS, 3, "20130524T000000Z",
      EMPTY_SHA256},
     "GET\n/\nmax-keys=2&prefix=J\nhost:examplebucket.s3.amazonaws.com\n"
     "x-amz-content-sha256:" EMPTY_SHA256 "\n"
     "x-amz-date:20130524T000000Z\n\n"
     "host;x-amz-content-sha256;x-amz-date\n" EMPTY_SHA256,
     "df57d21db20da04d7fa30298dd4488ba3a2b47ca3a489c74750e0f1e7df1b9b7",
     "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/"
     "s3/aws4_request,SignedHeaders=host;x-amz-content-sha256;x-amz-date,"
     "Signature="
     "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7"},
};

static void
check_vector(const ml_sigv4_key *key, const vector *v)
{
    print_message("  %s\n", v->what);
    ml_buf b;
    ml_buf_init(&b, 1 << 16);
    if (v->canonical != NULL) {
        assert_int_equal(ml_sigv4_canonical(&v->req, &b), 0);
        assert_int_equal(ml_buf_append_u8(&b, 0), 0);
        assert_string_equal((const char *)b.data, v->canonical);
        ml_buf_reset(&b);
    }
    assert_int_equal(ml_sigv4_string_to_sign(key, &v->req, &b), 0);
    assert_int_equal(ml_buf_append_u8(&b, 0), 0);
    const char *last = strrchr((const char *)b.data, '\n');
    assert_non_null(last);
    assert_string_equal(last + 1, v->sts_last_line);
    ml_buf_free(&b);
    char auth[512];
    assert_int_equal(ml_sigv4_sign(key, &v->req, auth, sizeof auth), 0);
    assert_string_equal(auth, v->auth);
}

static void
test_s3_documented_examples(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof S3_VECTORS / sizeof S3_VECTORS[0]; i++) {
        check_vector(&S3_EXAMPLE_KEY, &S3_VECTORS[i]);
    }
}

/* The PUT example's x-amz-content-sha256 is the SHA-256 of its body. */
static void
test_payload_hash(void **state)
{
    (void)state;
    char hex[ML_SIGV4_HEX];
    ml_sigv4_sha256_hex("Welcome to Amazon S3.", 21, hex);
    assert_string_equal(hex, PUT_SHA256);
    ml_sigv4_sha256_hex("", 0, hex);
    assert_string_equal(hex, EMPTY_SHA256);
}

/* get-vanilla-query-order-key-case of the Signature V4 test suite: the
 * query is sorted by name before signing. */
static void
test_suite_query_order(void **state)
{
    (void)state;
    static const ml_sigv4_key key = {
        "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "us-east-1",
        "service"};
    static const ml_sigv4_pair params[] = {{"Param2", "value2"},
                                           {"Param1", "value1"}};
    ml_buf q;
    ml_buf_init(&q, 1024);
    assert_int_equal(ml_sigv4_query(&q, params, 2), 0);
    assert_int_equal(ml_buf_append_u8(&q, 0), 0);
    assert_string_equal((const char *)q.data, "Param1=value1&Param2=value2");
    static const ml_sigv4_pair headers[] = {
        {"Host", "example.amazonaws.com"},
        {"X-Amz-Date", "20150830T123600Z"},
    };
    ml_sigv4_request req = {"GET",       "/", (char *)q.data,
                            headers,     2,   "20150830T123600Z",
                            EMPTY_SHA256};
    char auth[512];
    assert_int_equal(ml_sigv4_sign(&key, &req, auth, sizeof auth), 0);
    assert_string_equal(
        auth, "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/"
              "service/aws4_request,SignedHeaders=host;x-amz-date,Signature="
              "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf25"
              "00");
    ml_buf_free(&q);
}

static void
test_encode(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        int keep_slash;
        const char *out;
    } cases[] = {
        {"AZaz09-._~", 0, "AZaz09-._~"},
        {"a b+c=d&e", 0, "a%20b%2Bc%3Dd%26e"},
        {"dir/sub/f x", 1, "dir/sub/f%20x"},
        {"dir/sub/", 0, "dir%2Fsub%2F"},
        {"\xc3\xa9t\xc3\xa9", 1, "%C3%A9t%C3%A9"},
        {"%41*", 1, "%2541%2A"},
        {"", 0, ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ml_buf b;
        ml_buf_init(&b, 256);
        assert_int_equal(ml_sigv4_encode(&b, cases[i].in, cases[i].keep_slash),
                         0);
        assert_int_equal(ml_buf_append_u8(&b, 0), 0);
        assert_string_equal((const char *)b.data, cases[i].out);
        ml_buf_free(&b);
    }
}

/* Names and values are encoded before sorting; a repeated name sorts by
 * value; a NULL value is an empty one. */
static void
test_query_encoding_and_order(void **state)
{
    (void)state;
    static const ml_sigv4_pair params[] = {
        {"prefix", "a b/c+"},
        {"list-type", "2"},
        {"continuation-token", "1/x=="},
        {"k", "b"},
        {"k", "a"},
        {"acl", NULL},
    };
    ml_buf q;
    ml_buf_init(&q, 1024);
    assert_int_equal(ml_sigv4_query(&q, params, 6), 0);
    assert_int_equal(ml_buf_append_u8(&q, 0), 0);
    assert_string_equal((const char *)q.data,
                        "acl=&continuation-token=1%2Fx%3D%3D&k=a&k=b&"
                        "list-type=2&prefix=a%20b%2Fc%2B");
    ml_buf_free(&q);
    ml_buf_init(&q, 1024);
    assert_int_equal(ml_sigv4_query(&q, NULL, 0), 0);
    assert_int_equal(q.len, 0);
    ml_sigv4_pair many[17];
    for (size_t i = 0; i < 17; i++) {
        many[i] = (ml_sigv4_pair){"a", "b"};
    }
    assert_int_equal(ml_sigv4_query(&q, many, 17), ML_ELIMIT);
    ml_buf_free(&q);
}

/* Values are trimmed and inner spaces collapsed; repeated names are one
 * line with the values joined by ','. */
static void
test_header_canonical_form(void **state)
{
    (void)state;
    static const ml_sigv4_pair headers[] = {
        {"X-Amz-Meta-B", "  two   words  "},
        {"host", "h"},
        {"x-amz-meta-a", "1"},
        {"X-AMZ-META-A", "2"},
    };
    ml_sigv4_request req = {
        "GET", "/", "", headers, 4, "20200101T000000Z", EMPTY_SHA256};
    ml_buf b;
    ml_buf_init(&b, 4096);
    assert_int_equal(ml_sigv4_canonical(&req, &b), 0);
    assert_int_equal(ml_buf_append_u8(&b, 0), 0);
    assert_string_equal((const char *)b.data,
                        "GET\n/\n\nhost:h\nx-amz-meta-a:1,2\n"
                        "x-amz-meta-b:two words\n\n"
                        "host;x-amz-meta-a;x-amz-meta-b\n" EMPTY_SHA256);
    ml_buf_free(&b);
}

static void
test_refusals(void **state)
{
    (void)state;
    char auth[512];
    ml_sigv4_request ok = S3_VECTORS[0].req;
    ml_sigv4_request r = ok;
    r.amz_date = "20130524";
    assert_int_equal(ml_sigv4_sign(&S3_EXAMPLE_KEY, &r, auth, sizeof auth),
                     ML_EINVAL);
    r = ok;
    r.path = "test.txt";
    assert_int_equal(ml_sigv4_sign(&S3_EXAMPLE_KEY, &r, auth, sizeof auth),
                     ML_EINVAL);
    r = ok;
    r.n_headers = 0;
    assert_int_equal(ml_sigv4_sign(&S3_EXAMPLE_KEY, &r, auth, sizeof auth),
                     ML_EINVAL);
    ml_sigv4_pair many[ML_SIGV4_MAX_HEADERS + 1];
    for (size_t i = 0; i < ML_SIGV4_MAX_HEADERS + 1; i++) {
        many[i] = (ml_sigv4_pair){"x-a", "b"};
    }
    r = ok;
    r.headers = many;
    r.n_headers = ML_SIGV4_MAX_HEADERS + 1;
    assert_int_equal(ml_sigv4_sign(&S3_EXAMPLE_KEY, &r, auth, sizeof auth),
                     ML_ELIMIT);
    static const ml_sigv4_pair unnamed[] = {{"", "v"}};
    r = ok;
    r.headers = unnamed;
    r.n_headers = 1;
    assert_int_equal(ml_sigv4_sign(&S3_EXAMPLE_KEY, &r, auth, sizeof auth),
                     ML_EINVAL);
    assert_int_equal(ml_sigv4_sign(&S3_EXAMPLE_KEY, &ok, auth, 64), ML_ELIMIT);
    ml_sigv4_key k = S3_EXAMPLE_KEY;
    k.region = NULL;
    assert_int_equal(ml_sigv4_sign(&k, &ok, auth, sizeof auth), ML_EINVAL);
    char long_secret[400];
    memset(long_secret, 'x', sizeof long_secret - 1);
    long_secret[sizeof long_secret - 1] = '\0';
    k = S3_EXAMPLE_KEY;
    k.secret_key = long_secret;
    assert_int_equal(ml_sigv4_sign(&k, &ok, auth, sizeof auth), ML_EINVAL);
}

static void
test_amz_date(void **state)
{
    (void)state;
    char d[17];
    ml_sigv4_amz_date((time_t)1369353600, d); /* 2013-05-24 00:00:00 UTC */
    assert_string_equal(d, "20130524T000000Z");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_s3_documented_examples),
        cmocka_unit_test(test_payload_hash),
        cmocka_unit_test(test_suite_query_order),
        cmocka_unit_test(test_encode),
        cmocka_unit_test(test_query_encoding_and_order),
        cmocka_unit_test(test_header_canonical_form),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_amz_date),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
