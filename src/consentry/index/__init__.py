"""The match index (exact digests, MinHash LSH, excerpt postings behind a Bloom filter,
and PDQ image hashes; saved as memory-mappable segments) and the offline sketch that
mirrors it in one signed file, both behind the ``Lookup`` Protocol. ``Matcher`` is what
the gate looks items up in: a ``MatchIndex``, or a ``ShardedIndex`` whose shards may be
held by other processes."""

from consentry.index._combine import Matcher
from consentry.index.bloom import BloomFilter
from consentry.index.lookup import Lookup
from consentry.index.match_index import MatchIndex, MatchParams
from consentry.index.records import IndexedWork, Match, MatchKind
from consentry.index.sketch import Sketch

__all__ = [
    "BloomFilter",
    "IndexedWork",
    "Lookup",
    "Match",
    "MatchIndex",
    "MatchKind",
    "MatchParams",
    "Matcher",
    "Sketch",
]
