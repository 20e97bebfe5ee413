/* Converted sockets that arrive from elsewhere: inherited across exec or
 * received over SCM_RIGHTS. They are recognised by their unix addresses,
 * DIR/PORT.sock of this configuration. */
#ifndef UNSOCK_ADOPT_H
#define UNSOCK_ADOPT_H

#include "common.h"

/* Record fd as converted if it is a unix socket bound or connected to a
 * socket file of ours; anything else is left alone. */
void unsock_adopt(int fd);

/* Every descriptor open at start-up (exec keeps them). */
void unsock_adopt_inherited(void);

/* The descriptors in the SCM_RIGHTS messages of a received msg. */
void unsock_adopt_rights(const struct msghdr *msg);

#endif
