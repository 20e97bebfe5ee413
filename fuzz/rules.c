/* libFuzzer target: UNSOCK_RULES text. The reader takes the canonical form
 * only, so what it reads must format back to exactly the input. */
#include "input.h"

#include "rules.h"

#include <stdio.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_text(data, size);
    if (text == NULL)
        return 0;
    size = strlen(text); /* what a C string of the input holds */
    struct unsock_rules rs;
    char err[400];
    if (unsock_rules_parse(text, &rs, err, sizeof(err)) == 0) {
        /* A line is at most the input, and fits when formatted back. */
        size_t cap = size + 2, used = 0;
        char *back = malloc(cap), *line = malloc(cap);
        for (size_t i = 0; back != NULL && line != NULL && i < rs.n; i++) {
            size_t n = unsock_rule_format(&rs.v[i], line, cap);
            if (used + n + 1 > cap) {
                fprintf(stderr, "rule %zu formats longer than the input\n", i + 1);
                abort();
            }
            memcpy(back + used, line, n);
            used += n;
            back[used++] = '\n';
        }
        if (back != NULL && line != NULL && (used != size + 1 || memcmp(back, text, size) != 0)) {
            fprintf(stderr, "read, but formats back as '%.*s'\n", (int)used, back);
            abort();
        }
        free(back);
        free(line);
        unsock_rules_free(&rs);
    } else if (strchr(err, '\n') != NULL) {
        abort();
    }
    free(text);
    return 0;
}
