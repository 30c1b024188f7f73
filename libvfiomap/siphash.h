/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* SipHash-2-4 (Aumasson and Bernstein, 2012): a keyed 64-bit hash. With a secret random key, nobody who
 * chooses the input (a domain name, a driver name) can make two different values collide on purpose. */

#include <stddef.h>
#include <stdint.h>

#define SIPHASH_KEY_SIZE 16

uint64_t siphash24(const void *data, size_t size, const uint8_t key[static SIPHASH_KEY_SIZE]);
