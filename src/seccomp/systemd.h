/* systemd socket activation under the seccomp engine (the `systemd[=FDNAME]`
 * rule action). systemd passes its sockets to `unsock run`, which becomes
 * the supervisor: it keeps them, and passes them on to the program it
 * starts (LISTEN_PID made the program's), where a shim takes them itself;
 * a program the shim cannot reach gets them at its bind() from the
 * supervisor, as the preload engine gives them. */
#ifndef UNSOCK_SEC_SYSTEMD_H
#define UNSOCK_SEC_SYSTEMD_H

/* Take note of the sockets systemd passed to this process (LISTEN_PID is
 * ours); malformed or foreign values are left alone. Before the fork. */
void systemd_take(void);

/* In the child, before it runs the program: LISTEN_PID is the child's. */
void systemd_pass_on(void);

/* A descriptor of ours (to close) of the passed socket for a bind: the
 * first not yet taken of name fdname (all of that name taken: the first of
 * that name), or without fdname the next one not taken. -1 with *why. */
int systemd_pick(const char *fdname, const char **why);

#endif
