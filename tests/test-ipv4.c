/* test-ipv4.c: models/ipv4.h reads exactly what inet_pton(AF_INET) reads,
 * CIDRs with their prefix, and writes what inet_ntop writes. */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <glib.h>

#include "models/ipv4.h"

static void test_ipv4_parse_agrees_with_inet_pton(void **state)
{
    static const char *const texts[] = {
        "0.0.0.0", "10.244.1.2", "255.255.255.255", "192.168.0.11",
        "256.1.1.1", "1.2.3", "1.2.3.4.5", "01.2.3.4", "1.2.3.04",
        "1..2.3", "1.2.3.4 ", " 1.2.3.4", "1.2.3.4/24", "", "a.b.c.d",
        "1000.1.1.1", "1.2.3.-4", "0.0.0.00", "1.2.3.4a", "1.2.3.", ".1.2.3",
        "00.1.2.3", "255.255.255.256", "1.2.3.255", "99.999.1.1",
        "9.99.199.249", "1.2.3.2555", "1:2.3.4",
    };
    for (guint i = 0; i < G_N_ELEMENTS(texts); i++) {
        struct in_addr in;
        gboolean want = inet_pton(AF_INET, texts[i], &in) == 1;
        guint32 got = 0xdeadbeef;
        assert_int_equal(ipv4_parse(texts[i], &got), want);
        if (want) {
            assert_int_equal(got, ntohl(in.s_addr));
        } else {
            assert_int_equal(got, 0xdeadbeef); /* untouched */
        }
    }
    assert_false(ipv4_parse(NULL, NULL));
}

static void test_ipv4_parse_cidr_keeps_host_bits_and_prefix(void **state)
{
    guint32 a = 0;
    guint n = 0;
    assert_true(ipv4_parse_cidr("10.244.1.7/16", &a, &n));
    assert_int_equal(a, 0x0af40107);
    assert_int_equal(n, 16);
    assert_true(ipv4_parse_cidr("10.0.0.1", &a, &n));
    assert_int_equal(n, 32);
    assert_true(ipv4_parse_cidr("0.0.0.0/0", &a, &n));
    assert_int_equal(n, 0);
    assert_false(ipv4_parse_cidr("10.0.0.0/33", &a, &n));
    assert_false(ipv4_parse_cidr("10.0.0.0/", &a, &n));
    assert_false(ipv4_parse_cidr("10.0.0/8", &a, &n));
    assert_false(ipv4_parse_cidr("255.255.255.255.255/8", &a, &n));
}

static void test_ipv4_format_agrees_with_inet_ntop(void **state)
{
    static const guint32 addrs[] = { 0, 1, 0x0a000001, 0xc0a8000b,
                                     0xffffffff, 0x64096301, 0x0a640a0a };
    for (guint i = 0; i < G_N_ELEMENTS(addrs); i++) {
        char want[INET_ADDRSTRLEN];
        struct in_addr in = { htonl(addrs[i]) };
        inet_ntop(AF_INET, &in, want, sizeof want);
        char got[IPV4_TEXT_MAX];
        assert_string_equal(ipv4_format(addrs[i], got), want);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ipv4_parse_agrees_with_inet_pton),
        cmocka_unit_test(test_ipv4_parse_cidr_keeps_host_bits_and_prefix),
        cmocka_unit_test(test_ipv4_format_agrees_with_inet_ntop),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
