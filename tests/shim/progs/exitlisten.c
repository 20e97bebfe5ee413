/* Binds and listens, then returns from main without closing: the socket
 * file must be gone once the process has exited.
 * Usage: exitlisten COVERED_IP PORT SOCKDIR */
#include "probe.h"

int main(int argc, char **argv)
{
    CHECK(argc == 4, "usage: exitlisten COVERED_IP PORT SOCKDIR");
    int l = listener(argv[1], atoi(argv[2]));
    char path[200];
    snprintf(path, sizeof(path), "%s/%s.sock", argv[3], argv[2]);
    struct stat st;
    CHECK(lstat(path, &st) == 0 && S_ISSOCK(st.st_mode), "no socket file %s", path);
    (void)l;
    puts("ok");
    return 0;
}
