/* The epoll registration of descriptors not converted yet (fdtable.h). */
#include "fdslot.h"
#include "log.h"

void unsock_fd_epoll_add(int fd, int epfd, uint32_t events, uint64_t data)
{
    struct slot *s = unsock_slot_get(fd), *e = unsock_slot_get(epfd);
    if (s == NULL || e == NULL)
        return;
    int had = atomic_load_explicit(&s->ep_fd, memory_order_relaxed);
    if (had != 0 && had != epfd + 1)
        unsock_debug("fd %d: in more than one epoll set, only the one of fd %d is carried over", fd, epfd);
    atomic_store_explicit(&s->ep_events, events, memory_order_relaxed);
    atomic_store_explicit(&s->ep_data, data, memory_order_relaxed);
    atomic_store_explicit(&s->ep_gen, atomic_load_explicit(&e->gen, memory_order_acquire), memory_order_relaxed);
    atomic_store_explicit(&s->ep_fd, epfd + 1, memory_order_release);
}

void unsock_fd_epoll_del(int fd, int epfd)
{
    struct slot *s = unsock_slot_peek(fd);
    int want = epfd + 1;
    if (s != NULL)
        atomic_compare_exchange_strong(&s->ep_fd, &want, 0);
}

bool unsock_fd_epoll_get(int fd, int *epfd, uint32_t *events, uint64_t *data)
{
    struct slot *s = unsock_slot_peek(fd);
    int ep = s ? atomic_load_explicit(&s->ep_fd, memory_order_acquire) - 1 : -1;
    struct slot *e = unsock_slot_peek(ep);
    /* The epoll descriptor must not have been closed since: its number
     * may now stand for another epoll set, or for no epoll set at all. */
    if (ep < 0 || e == NULL ||
        atomic_load_explicit(&e->gen, memory_order_acquire) != atomic_load_explicit(&s->ep_gen, memory_order_relaxed))
        return false;
    *epfd = ep;
    *events = atomic_load_explicit(&s->ep_events, memory_order_relaxed);
    *data = atomic_load_explicit(&s->ep_data, memory_order_relaxed);
    return true;
}

