/* Fault injection (see w2w_posix_fault.h): rules parsed once from W2W_FAULTS. */
#include "w2w_posix_fault.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SHORT_SEND (-1) /* `short` instead of an errno */
#define MAX_RULES 16

typedef struct rule {
    w2w_fault_kind kind;
    int err;          /* errno, or SHORT_SEND */
    unsigned skip;    /* calls of `kind` still to let through */
    unsigned count;   /* faults still to inject */
} rule;

static const char *const KIND_NAMES[W2W_FAULT_KINDS] = { "socket", "connect", "accept", "recv", "send", "poll" };
static const struct { const char *name; int err; } ERRNOS[] = {
    { "ECONNRESET", ECONNRESET }, { "EAGAIN", EAGAIN }, { "EINTR", EINTR }, { "ENOMEM", ENOMEM },
    { "EPIPE", EPIPE }, { "ECONNREFUSED", ECONNREFUSED }, { "ECONNABORTED", ECONNABORTED },
    { "ETIMEDOUT", ETIMEDOUT }, { "ENOBUFS", ENOBUFS }, { "EMFILE", EMFILE }, { "ENETUNREACH", ENETUNREACH },
    { "EHOSTUNREACH", EHOSTUNREACH }, { "short", SHORT_SEND },
};

/* A host may serve guests on several threads: one lock around the rules. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static rule rules[MAX_RULES];
static unsigned nrules, injected;
static int enabled; /* read without the lock: set once, before any rule is used */

static int parse_kind(const char *s, size_t n)
{
    for (int k = 0; k < W2W_FAULT_KINDS; k++)
        if (strlen(KIND_NAMES[k]) == n && strncmp(s, KIND_NAMES[k], n) == 0)
            return k;
    return -1;
}

static int parse_err(const char *s, size_t n, int *err)
{
    for (size_t i = 0; i < sizeof ERRNOS / sizeof ERRNOS[0]; i++)
        if (strlen(ERRNOS[i].name) == n && strncmp(s, ERRNOS[i].name, n) == 0) {
            *err = ERRNOS[i].err;
            return 0;
        }
    return -1;
}

/* "KIND=WHAT[*COUNT][@SKIP]" of length n: 0 and the rule, or -1 */
static int parse_rule(const char *s, size_t n, rule *r)
{
    char text[64], *eq, *what, *star, *at, *end;
    if (n == 0 || n >= sizeof text)
        return -1;
    memcpy(text, s, n);
    text[n] = '\0';
    eq = strchr(text, '=');
    if (eq == NULL)
        return -1;
    int kind = parse_kind(text, (size_t)(eq - text));
    what = eq + 1;
    star = strchr(what, '*');
    at = strchr(what, '@');
    r->count = 1;
    r->skip = 0;
    if (star != NULL) {
        r->count = (unsigned)strtoul(star + 1, &end, 10);
        if (end == star + 1 || (*end != '\0' && *end != '@'))
            return -1;
    }
    if (at != NULL) {
        r->skip = (unsigned)strtoul(at + 1, &end, 10);
        if (end == at + 1 || (*end != '\0' && *end != '*'))
            return -1;
    }
    size_t wlen = strcspn(what, "*@");
    if (kind < 0 || parse_err(what, wlen, &r->err) != 0 || (r->err == SHORT_SEND && kind != W2W_FAULT_SEND))
        return -1;
    r->kind = (w2w_fault_kind)kind;
    return 0;
}

static void report(void)
{
    fprintf(stderr, "w2w-fault: injected=%u\n", w2w_fault_injected());
}

static void load_rules(void)
{
    const char *spec = getenv("W2W_FAULTS");
    if (spec == NULL)
        return;
    while (*spec != '\0') {
        size_t n = strcspn(spec, ",");
        if (n > 0 && nrules < MAX_RULES && parse_rule(spec, n, &rules[nrules]) == 0)
            nrules++;
        else if (n > 0)
            fprintf(stderr, "w2w-fault: ignored rule `%.*s`\n", (int)n, spec);
        spec += n + (spec[n] == ',');
    }
    enabled = 1;
    atexit(report);
}

/* the rule of `kind` that fires now, or NULL; every matching rule counts the call
 * against its SKIP. Under the lock. */
static rule *fire(w2w_fault_kind kind, int want_short)
{
    rule *hit = NULL;
    for (unsigned i = 0; i < nrules; i++) {
        rule *r = &rules[i];
        if (r->kind != kind || r->count == 0 || (r->err == SHORT_SEND) != want_short)
            continue;
        if (r->skip > 0)
            r->skip--;
        else if (hit == NULL)
            hit = r;
    }
    if (hit != NULL) {
        hit->count--;
        injected++;
    }
    return hit;
}

int w2w_fault_take(w2w_fault_kind kind)
{
    rule *r;
    int err = 0;
    pthread_once(&once, load_rules);
    if (!enabled)
        return 0;
    pthread_mutex_lock(&lock);
    r = fire(kind, 0);
    if (r != NULL)
        err = r->err;
    pthread_mutex_unlock(&lock);
    return err;
}

size_t w2w_fault_send_len(size_t n)
{
    rule *r;
    pthread_once(&once, load_rules);
    if (!enabled || n <= 1)
        return n;
    pthread_mutex_lock(&lock);
    r = fire(W2W_FAULT_SEND, 1);
    pthread_mutex_unlock(&lock);
    return r != NULL ? 1 : n;
}

unsigned w2w_fault_injected(void)
{
    unsigned n;
    pthread_mutex_lock(&lock);
    n = injected;
    pthread_mutex_unlock(&lock);
    return n;
}
