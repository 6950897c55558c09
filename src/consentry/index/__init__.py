"""The match index: exact digests, MinHash LSH, excerpt postings behind a Bloom filter,
and PDQ image hashes; saved as memory-mappable segments."""

from consentry.index.bloom import BloomFilter
from consentry.index.match_index import MatchIndex, MatchParams
from consentry.index.records import IndexedWork, Match, MatchKind

__all__ = ["BloomFilter", "IndexedWork", "Match", "MatchIndex", "MatchKind", "MatchParams"]
