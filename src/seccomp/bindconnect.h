/* bind and connect of the supervised tree, by the decision core's plans. */
#ifndef UNSOCK_BINDCONNECT_H
#define UNSOCK_BINDCONNECT_H

#include "call.h"
#include "plan.h"

/* Answer a trapped bind (CALL_BIND) or connect (CALL_CONNECT). */
void on_bind_connect(struct call *c, enum unsock_call call);

#endif
