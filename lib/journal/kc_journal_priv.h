/* SPDX-License-Identifier: BSD-3-Clause */
/* Private to lib/journal. */
#ifndef KC_JOURNAL_PRIV_H
#define KC_JOURNAL_PRIV_H

#define KC_JPATH_MAX 512u

#endif /* KC_JOURNAL_PRIV_H */
