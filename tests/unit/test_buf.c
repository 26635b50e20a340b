/*
 * The capped growable buffer: doubling, the cap exactly reached, refusal
 * past it with the buffer unchanged, consuming from the front.
 */
#include <errno.h>
#include <string.h>

#include "buf.h"
#include "t.h"

static void
test_growth(void)
{
	struct buf b;
	char bytes[100];

	memset(bytes, 'x', sizeof(bytes));
	buf_init(&b, 8, 64);
	T_OK(b.data == NULL && b.cap == 0, "nothing allocated before a byte");
	T_EQ_INT(buf_append(&b, bytes, 3), 0, "a first append");
	T_EQ_INT(b.cap, 8, "the first allocation is the first size");
	T_EQ_INT(buf_append(&b, bytes, 6), 0, "an append past it");
	T_EQ_INT(b.cap, 16, "grows by doubling");
	T_EQ_INT(buf_reserve(&b, 30), 0, "room for 39 bytes");
	T_EQ_INT(b.cap, 64, "doubles until it fits");
	T_EQ_INT(b.len, 9, "reserving adds no bytes");
	buf_free(&b);
	T_OK(b.data == NULL && b.len == 0 && b.cap == 0, "freed");
	T_EQ_INT(buf_append(&b, bytes, 1), 0, "usable again after free");
	T_EQ_INT(b.max, 64, "with the same cap");
	buf_free(&b);
}

static void
test_cap(void)
{
	struct buf b;
	char bytes[100];

	memset(bytes, 'y', sizeof(bytes));
	buf_init(&b, 16, 40);
	T_EQ_INT(buf_append(&b, bytes, 33), 0, "33 of 40 bytes");
	T_EQ_INT(b.cap, 40, "doubling stops at the cap");
	T_EQ_INT(buf_append(&b, bytes, 7), 0, "the cap exactly reached");
	T_EQ_INT(b.len, 40, "holds the cap's worth");
	errno = 0;
	T_EQ_INT(buf_append(&b, bytes, 1), -1, "one byte more is refused");
	T_EQ_INT(errno, EMSGSIZE, "as too big, not out of memory");
	T_EQ_INT(b.len, 40, "a refused append changes nothing");
	T_EQ_INT(buf_reserve(&b, (size_t)-1), -1, "a size that would wrap");
	T_OK(memcmp(b.data, bytes, 40) == 0, "the bytes are kept");
	buf_free(&b);

	buf_init(&b, 4096, 10);
	T_EQ_INT(buf_append(&b, bytes, 2), 0, "a first size over the cap");
	T_EQ_INT(b.cap, 10, "allocates no more than the cap");
	buf_free(&b);
}

static void
test_consume(void)
{
	struct buf b;

	buf_init(&b, 4, 64);
	buf_append(&b, "abcdef", 6);
	buf_consume(&b, 2);
	T_EQ_INT(b.len, 4, "consuming drops bytes from the front");
	T_OK(memcmp(b.data, "cdef", 4) == 0, "and keeps the rest in order");
	T_EQ_INT(buf_room(&b), (long long)(b.cap - 4), "room after them");
	buf_consume(&b, 10);
	T_EQ_INT(b.len, 0, "consuming more than held empties it");
	buf_append(&b, "gh", 2);
	buf_reset(&b);
	T_OK(b.len == 0 && b.data != NULL, "reset keeps the allocation");
	T_EQ_INT(buf_append(&b, NULL, 0), 0, "appending nothing is fine");
	buf_free(&b);
}

int
main(void)
{
	test_growth();
	test_cap();
	test_consume();
	return t_done();
}
