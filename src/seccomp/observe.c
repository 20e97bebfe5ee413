#define _GNU_SOURCE
#include "observe.h"

#include "carry.h"
#include "notif.h"
#include "sockopts.h"
#include "target.h"

#include <errno.h>
#include <string.h>


void on_name(struct call *c, bool peer)
{
    struct usock *rec;
    if (!call_socket(c) || (rec = call_converted(c)) == NULL)
        return call_pass(c);
    struct sockaddr_storage a = peer ? rec->peer : rec->local;
    socklen_t alen = peer ? rec->peer_len : rec->local_len;
    socks_unlock();
    int err = peer && alen == 0 ? ENOTCONN : call_copy_out(c, c->n.data.args[1], c->n.data.args[2], &a, alen);
    if (err != 0)
        return notif_fail(c->listener, c->n.id, err);
    notif_return(c->listener, c->n.id, 0);
}

/* Options are no longer than this (TCP_INFO is 232 bytes, TCP_MD5SIG 216). */
#define OPT_MAX 512

void on_sockopt(struct call *c, bool set)
{
    int level = (int)c->n.data.args[1], name = (int)c->n.data.args[2];
    uint64_t val = c->n.data.args[3], lenarg = c->n.data.args[4];
    unsigned char buf[OPT_MAX];
    struct usock *rec;
    if (!call_socket(c))
        return call_pass(c);
    if ((rec = call_converted(c)) == NULL) {
        uint64_t bit = set ? unsock_carry_bit(level, name) : 0;
        if (bit != 0) { /* carried over if the socket is converted later */
            socks_lock();
            struct pending *p = socks_pending(c->ino, true);
            p->options |= bit;
            socks_unlock();
        }
        return call_pass(c);
    }
    int r = 1;
    if (set && unsock_opt_emulated(level, name)) {
        socklen_t len = (socklen_t)lenarg < OPT_MAX ? (socklen_t)lenarg : OPT_MAX;
        if (val != 0 && target_read(c->tid, val, buf, len) != 0)
            r = -1, errno = EFAULT;
        else
            r = unsock_opt_set(rec, level, name, val != 0 ? buf : NULL, len);
    } else if (!set) {
        socklen_t room, len;
        if (lenarg == 0 || target_read(c->tid, lenarg, &room, sizeof(room)) != 0) {
            r = -1, errno = EFAULT;
        } else {
            len = (int)room > OPT_MAX ? OPT_MAX : room;
            r = unsock_sockopt_get(rec, c->dup, level, name, buf, &len);
            if (r == 0 && (errno = call_copy_out(c, val, lenarg, buf, len)) != 0)
                r = -1;
        }
    }
    int err = r < 0 ? errno : 0;
    socks_unlock();
    if (r == 1)
        return call_pass(c);
    if (err != 0)
        return notif_fail(c->listener, c->n.id, err);
    notif_return(c->listener, c->n.id, 0);
}
