-- SPDX-License-Identifier: BSD-3-Clause
-- pktgen-dpdk: replay one KingCobra profile (a pcap of signed KCP
-- REQUESTs from perf/pktgen/kc-profiles) at a rate, for a time, and
-- print what went out and what came back. pktgen loads the pcap from its
-- command line (-s P:file); this script turns pcap mode on and drives it:
--
--   pktgen -l 0-2 -n 4 -a 0000:3b:00.0 -- -P -m "[1:2].0" \
--       -s 0:out/ping.pcap -f perf/pktgen/kingcobra.lua
--
-- Edit the three settings below (pktgen passes no arguments to a script).
-- Every frame of a profile is a different request the first time round;
-- pktgen loops the file, and a repeat is answered from the appliance's
-- idempotency index or refused as expired (docs/performance.md, "pktgen
-- profiles"), so the first pass is the figure for new requests.

local port = "0"          -- the pktgen port facing the appliance
local rate_pct = 10       -- percent of the port's line rate
local seconds = 30        -- how long to send

pktgen.stop(port)
pktgen.clr()
pktgen.pcap(port, "on")
pktgen.set(port, "rate", rate_pct)
pktgen.start(port)
pktgen.delay(seconds * 1000)
pktgen.stop(port)
pktgen.delay(2000)        -- the REPLYs still in flight

local st = pktgen.portStats(port, "port")[tonumber(port)]
printf("kingcobra.lua: port %s: %d frames sent, %d received (REPLYs), " ..
       "%d rx errors, %d missed\n", port, st.opackets, st.ipackets,
       st.ierrors, st.imissed)
