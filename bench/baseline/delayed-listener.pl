# A daemon for the timing benchmarks: waits DELAY_MS, then accepts (and closes) connections on
# 127.0.0.1:PORT until terminated. Perl (always there on Debian, as perl-base) starts in a few
# milliseconds, so thirty of them starting at once measure restore, not CPU contention between
# thirty Node start-ups on a two-core machine.
# Usage: perl delayed-listener.pl DELAY_MS PORT
use strict;
use warnings;
use IO::Socket::INET;

my ($delay, $port) = @ARGV;
select(undef, undef, undef, $delay / 1000);
my $server = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => $port, Listen => 128, ReuseAddr => 1)
  or die "cannot listen on $port: $!\n";
$SIG{TERM} = sub { exit 0 };
while (my $client = $server->accept) { close $client; }
