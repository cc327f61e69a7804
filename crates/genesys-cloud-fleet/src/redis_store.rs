//! The fleet's store on Redis: for tokens, one key per token and one lock key per token, each
//! with an expiry; for turns, one sorted set of turns and one hold key per budget; the steps
//! that must be atomic as Lua scripts, on Redis's clock (so the processes' clocks need not
//! agree).

use genesys_cloud_auth::{Secret, StoredToken, TokenStore};
use genesys_cloud_core::{BoxFuture, Checkpoint, CheckpointStore, Error, ErrorKind};
use genesys_cloud_transport::RateStore;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;
use tokio::time::Instant;

/// How long after a failed connection the store is not asked again: a Redis that is down
/// costs each process one failed connection a second, not one per call.
const RECONNECT_PAUSE: Duration = Duration::from_secs(1);

/// Reads a token and what is left of its key's time to live, in one step.
const GET: &str = r"
local v = redis.call('GET', KEYS[1])
if not v then return false end
return {v, redis.call('PTTL', KEYS[1])}
";

/// Stores a token and gives up the lock when the caller holds it.
const PUT: &str = r"
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
if redis.call('GET', KEYS[2]) == ARGV[3] then redis.call('DEL', KEYS[2]) end
return 1
";

/// Deletes a key when it holds the given value (a lock its holder gives up, a token the API
/// rejected).
const DELETE_IF: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
";

/// Takes the next turn in every budget at once. KEYS: per budget, its turns (a sorted set of
/// times in ms) and its hold key. ARGV: the longest wait (ms), a unique member suffix, then per
/// budget its allowance and window (ms). The turn is the latest of now, every hold's end, the
/// last turn given (turns go in order) and, in each budget with `allowed` turns in its last
/// window, the turn `allowed` back plus the window; -1 when that is past the longest wait.
const RESERVE: &str = r"
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local turn = now
local n = #KEYS / 2
for i = 1, n do
  local turns, hold = KEYS[2 * i - 1], KEYS[2 * i]
  local allowed, window = tonumber(ARGV[1 + 2 * i]), tonumber(ARGV[2 + 2 * i])
  redis.call('ZREMRANGEBYSCORE', turns, '-inf', now - window)
  local held = redis.call('PTTL', hold)
  if held > 0 and now + held > turn then turn = now + held end
  local last = redis.call('ZRANGE', turns, -1, -1, 'WITHSCORES')
  if last[2] and tonumber(last[2]) > turn then turn = tonumber(last[2]) end
  local count = redis.call('ZCARD', turns)
  if count >= allowed then
    local back = redis.call('ZRANGE', turns, count - allowed, count - allowed, 'WITHSCORES')
    local at = tonumber(back[2]) + window
    if at > turn then turn = at end
  end
end
if turn - now > tonumber(ARGV[1]) then return -1 end
for i = 1, n do
  local turns, window = KEYS[2 * i - 1], tonumber(ARGV[2 + 2 * i])
  redis.call('ZADD', turns, turn, turn .. ':' .. ARGV[2])
  redis.call('PEXPIRE', turns, (turn - now) + window + 1000)
end
return turn - now
";

/// Holds a budget's turns for ARGV[1] ms, unless they are held longer already.
const HOLD: &str = r"
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[1]) then
  redis.call('SET', KEYS[1], '1', 'PX', ARGV[1])
end
return 1
";

/// Takes a lease for ARGV[1] for ARGV[2] ms, or renews it when ARGV[1] holds it: 1 when the
/// caller holds it now.
const LEASE: &str = r"
local holder = redis.call('GET', KEYS[1])
if holder == false or holder == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
";

/// Reads a key.
const READ: &str = r"return redis.call('GET', KEYS[1])";

/// Writes a key for ARGV[2] ms.
const WRITE: &str = r"return redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) and 1";

/// Deletes a key.
const DELETE: &str = r"return redis.call('DEL', KEYS[1])";

/// Takes (or renews) a member's channel places. KEYS: the places' expiries (a sorted set of
/// members) and their counts (a hash). ARGV: the member, its places, the budget, the time to
/// live (ms). Lapsed places are dropped first; `{'ok'}`, or `{'full', member, places, …}` with
/// every other holder.
#[cfg(feature = "notifications")]
const TAKE_CHANNELS: &str = r"
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
for _, m in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now)) do redis.call('HDEL', KEYS[2], m) end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local held = redis.call('HGETALL', KEYS[2])
local used = 0
local others = {'full'}
for i = 1, #held, 2 do
  if held[i] ~= ARGV[1] then
    used = used + tonumber(held[i + 1])
    table.insert(others, held[i])
    table.insert(others, held[i + 1])
  end
end
if used + tonumber(ARGV[2]) > tonumber(ARGV[3]) then return others end
local ttl = tonumber(ARGV[4])
redis.call('ZADD', KEYS[1], now + ttl, ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
for _, k in ipairs(KEYS) do
  if redis.call('PTTL', k) < ttl then redis.call('PEXPIRE', k, ttl) end
end
return {'ok'}
";

/// Takes (or renews) each topic's lease for ARGV[1] for ARGV[2] ms where no other holder has
/// it. KEYS: one per topic. The answer, key for key: '' when ARGV[1] holds it now, else its
/// holder.
#[cfg(feature = "notifications")]
const CLAIM_TOPICS: &str = r"
local out = {}
for i, k in ipairs(KEYS) do
  local holder = redis.call('GET', k)
  if holder == false or holder == ARGV[1] then
    redis.call('SET', k, ARGV[1], 'PX', ARGV[2])
    out[i] = ''
  else
    out[i] = holder
  end
end
return out
";

/// Gives up a member's places (KEYS[1], KEYS[2] as in [`TAKE_CHANNELS`]) and the topic leases
/// (KEYS[3..]) that ARGV[2] holds. ARGV[1]: the member.
#[cfg(feature = "notifications")]
const RELEASE_CHANNELS: &str = r"
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
for i = 3, #KEYS do
  if redis.call('GET', KEYS[i]) == ARGV[2] then redis.call('DEL', KEYS[i]) end
end
return 1
";

/// What a [`RedisStore`] has done: Redis calls answered, and calls that failed or were
/// skipped because Redis was down.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct StoreStats {
    /// Calls Redis answered.
    pub answered: u64,
    /// Calls that failed (an error, a timeout, a refused connection) or were not sent
    /// because the last connection failed less than a second before.
    pub failed: u64,
}

/// A [`TokenStore`] on Redis, through redis-rs's connection manager (one multiplexed
/// connection, reconnected after a failure). Each call is bounded by the call limit.
pub struct RedisStore {
    client: redis::Client,
    /// The connection, made at the first call.
    connection: tokio::sync::Mutex<Option<ConnectionManager>>,
    /// When the last connection failed: no new one is tried before [`RECONNECT_PAUSE`].
    failed_at: Mutex<Option<Instant>>,
    limit: Duration,
    answered: AtomicU64,
    failed: AtomicU64,
    /// The OAuth client's budget across its tokens, when the fleet keeps one.
    client_budget: Option<(u32, Duration)>,
    /// Makes the members of a budget's turns unique.
    turn_ids: AtomicU64,
    /// This store's part of those members.
    instance: String,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The address only: a password in the URL stays out.
        let info = self.client.get_connection_info();
        f.debug_struct("RedisStore").field("addr", &info.addr().to_string()).field("stats", &self.stats()).finish()
    }
}

/// A Redis failure as the SDK's error (a transport error: the store is down or slow).
fn redis_error(e: redis::RedisError) -> Error {
    Error::new(ErrorKind::Transport, format!("redis: {e}"))
}

impl RedisStore {
    /// A store on the Redis at `url`. Nothing connects here.
    pub fn open(url: &str) -> Result<Self, Error> {
        let client = redis::Client::open(url).map_err(|e| Error::build(format!("a Redis URL: {e}")))?;
        Ok(Self {
            client,
            connection: tokio::sync::Mutex::new(None),
            failed_at: Mutex::new(None),
            limit: Duration::from_millis(500),
            answered: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            client_budget: None,
            turn_ids: AtomicU64::new(0),
            instance: {
                let mut bytes = [0u8; 8];
                let _ = getrandom::getrandom(&mut bytes);
                bytes.iter().map(|b| format!("{b:02x}")).collect()
            },
        })
    }

    pub(crate) fn set_call_limit(&mut self, limit: Duration) {
        self.limit = limit;
    }

    pub(crate) fn set_client_budget(&mut self, allowed: u32, window: Duration) {
        self.client_budget = Some((allowed.max(1), window));
    }

    /// What the store has done so far.
    pub fn stats(&self) -> StoreStats {
        StoreStats { answered: self.answered.load(Ordering::Relaxed), failed: self.failed.load(Ordering::Relaxed) }
    }

    /// The connection: the one made before, or a new one unless the last attempt failed
    /// less than [`RECONNECT_PAUSE`] ago.
    async fn connection(&self) -> Result<ConnectionManager, Error> {
        let mut held = self.connection.lock().await;
        if let Some(connection) = &*held {
            return Ok(connection.clone());
        }
        let failed_at = *self.failed_at.lock().unwrap_or_else(PoisonError::into_inner);
        if failed_at.is_some_and(|at| at.elapsed() < RECONNECT_PAUSE) {
            return Err(Error::new(ErrorKind::Connect, "redis: the last connection failed less than a second ago"));
        }
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(self.limit))
            .set_response_timeout(Some(self.limit))
            .set_number_of_retries(1);
        match tokio::time::timeout(self.limit, ConnectionManager::new_with_config(self.client.clone(), config)).await {
            Ok(Ok(connection)) => {
                *held = Some(connection.clone());
                Ok(connection)
            }
            outcome => {
                *self.failed_at.lock().unwrap_or_else(PoisonError::into_inner) = Some(Instant::now());
                Err(match outcome {
                    Ok(Err(e)) => redis_error(e),
                    _ => Error::new(ErrorKind::Connect, format!("redis: no connection within {:?}", self.limit)),
                })
            }
        }
    }

    /// `call` within the call limit, its outcome counted.
    async fn bounded<T>(&self, call: impl std::future::Future<Output = Result<T, Error>>) -> Result<T, Error> {
        let outcome = match tokio::time::timeout(self.limit, call).await {
            Ok(outcome) => outcome,
            Err(_) => Err(Error::new(ErrorKind::Timeout, format!("redis: no answer within {:?}", self.limit))),
        };
        let counter = if outcome.is_ok() { &self.answered } else { &self.failed };
        counter.fetch_add(1, Ordering::Relaxed);
        outcome
    }

    /// Runs `script` on `keys` and `args`, within the call limit, counting the outcome.
    async fn run<T: redis::FromRedisValue>(&self, script: &str, keys: &[&str], args: &[String]) -> Result<T, Error> {
        let call = async {
            let mut connection = self.connection().await?;
            let script = redis::Script::new(script);
            let mut invocation = script.prepare_invoke();
            for key in keys {
                invocation.key(*key);
            }
            for arg in args {
                invocation.arg(arg);
            }
            match invocation.invoke_async::<T>(&mut connection).await {
                // A connection Redis dropped (a restart) is found by the first call on it; the
                // manager connects again, and the call is sent once more.
                Err(e) if e.is_io_error() || e.is_connection_dropped() => {
                    invocation.invoke_async::<T>(&mut connection).await.map_err(redis_error)
                }
                outcome => outcome.map_err(redis_error),
            }
        };
        self.bounded(call).await
    }

    /// Sets `key` to `value` for `ttl` unless it exists, within the call limit.
    async fn set_nx(&self, key: &str, value: &str, ttl: Duration) -> Result<bool, Error> {
        let call = async {
            let mut connection = self.connection().await?;
            let mut set = redis::cmd("SET");
            set.arg(key).arg(value).arg("NX").arg("PX").arg(millis(ttl));
            let taken: Option<String> = match set.query_async(&mut connection).await {
                // As in `run`: once more on a connection the manager made again.
                Err(e) if e.is_io_error() || e.is_connection_dropped() => {
                    set.query_async(&mut connection).await.map_err(redis_error)?
                }
                outcome => outcome.map_err(redis_error)?,
            };
            Ok(taken.is_some())
        };
        self.bounded(call).await
    }
}

/// A duration in whole milliseconds, at least 1 (Redis refuses an expiry of 0).
fn millis(d: Duration) -> u64 {
    (d.as_millis().min(u64::MAX as u128) as u64).max(1)
}

/// The lock key of a token key.
fn lock_key(key: &str) -> String {
    format!("{key}:lock")
}

/// A stored value: how long the token lives past its key (ms), then the token.
fn encode(token: &Secret, past_key: Duration) -> String {
    format!("{}:{}", millis(past_key), token.expose())
}

fn decode(value: &str, pttl: i64) -> Option<StoredToken> {
    let (past, token) = value.split_once(':')?;
    let past: u64 = past.parse().ok()?;
    // -1: no expiry (not set by this store); -2: gone since the GET.
    let left = u64::try_from(pttl).ok()?;
    Some(StoredToken { token: Secret::new(token.to_owned()), expires_in: Duration::from_millis(left + past) })
}

impl TokenStore for RedisStore {
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<StoredToken>, Error>> {
        Box::pin(async move {
            let found: Option<(String, i64)> = self.run(GET, &[key], &[]).await?;
            Ok(found.and_then(|(value, pttl)| decode(&value, pttl)))
        })
    }

    fn lock<'a>(&'a self, key: &'a str, holder: &'a str, ttl: Duration) -> BoxFuture<'a, Result<bool, Error>> {
        Box::pin(async move { self.set_nx(&lock_key(key), holder, ttl).await })
    }

    fn put<'a>(
        &'a self,
        key: &'a str,
        holder: &'a str,
        token: &'a Secret,
        lifetime: Duration,
        keep: Duration,
    ) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(async move {
            let value = encode(token, lifetime.saturating_sub(keep));
            let lock = lock_key(key);
            let _: i64 = self.run(PUT, &[key, &lock], &[value, millis(keep).to_string(), holder.to_owned()]).await?;
            Ok(())
        })
    }

    fn unlock<'a>(&'a self, key: &'a str, holder: &'a str) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(async move {
            let _: i64 = self.run(DELETE_IF, &[&lock_key(key)], &[holder.to_owned()]).await?;
            Ok(())
        })
    }

    fn remove<'a>(&'a self, key: &'a str, token: &'a Secret) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(async move {
            // The stored value starts with the lifetime past the key: match the token part.
            let found: Option<(String, i64)> = self.run(GET, &[key], &[]).await?;
            if let Some((value, _)) = found.filter(|(v, _)| v.split_once(':').is_some_and(|(_, t)| t == token.expose()))
            {
                let _: i64 = self.run(DELETE_IF, &[key], &[value]).await?;
            }
            Ok(())
        })
    }
}

impl RateStore for RedisStore {
    fn reserve<'a>(
        &'a self,
        buckets: &'a [(String, u32, Duration)],
        max_wait: Duration,
    ) -> BoxFuture<'a, Result<Option<Duration>, Error>> {
        Box::pin(async move {
            let holds: Vec<String> = buckets.iter().map(|(name, _, _)| format!("{name}:hold")).collect();
            let mut keys: Vec<&str> = Vec::with_capacity(buckets.len() * 2);
            for ((name, _, _), hold) in buckets.iter().zip(&holds) {
                keys.push(name);
                keys.push(hold);
            }
            let id = self.turn_ids.fetch_add(1, Ordering::Relaxed);
            let mut args = vec![millis(max_wait).to_string(), format!("{}-{id}", self.instance)];
            for (_, allowed, window) in buckets {
                args.push(allowed.to_string());
                args.push(millis(*window).to_string());
            }
            let wait: i64 = self.run(RESERVE, &keys, &args).await?;
            Ok(u64::try_from(wait).ok().map(Duration::from_millis))
        })
    }

    fn hold<'a>(&'a self, bucket: &'a str, wait: Duration) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(async move {
            let _: i64 = self.run(HOLD, &[&format!("{bucket}:hold")], &[millis(wait).to_string()]).await?;
            Ok(())
        })
    }

    fn client_budget(&self) -> Option<(u32, Duration)> {
        self.client_budget
    }
}

impl CheckpointStore for RedisStore {
    fn load<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<Checkpoint>, Error>> {
        Box::pin(async move {
            let found: Option<String> = self.run(READ, &[key], &[]).await?;
            match found {
                None => Ok(None),
                Some(json) => serde_json::from_str(&json)
                    .map(Some)
                    .map_err(|e| Error::new(ErrorKind::Decode, format!("a checkpoint at {key}: {e}"))),
            }
        })
    }

    fn save<'a>(&'a self, key: &'a str, checkpoint: &'a Checkpoint, ttl: Duration) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(async move {
            let json = serde_json::to_string(checkpoint).map_err(|e| Error::build(format!("a checkpoint: {e}")))?;
            let _: i64 = self.run(WRITE, &[key], &[json, millis(ttl).to_string()]).await?;
            Ok(())
        })
    }

    fn remove<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(async move {
            let _: i64 = self.run(DELETE, &[key], &[]).await?;
            Ok(())
        })
    }

    fn lease<'a>(&'a self, key: &'a str, holder: &'a str, ttl: Duration) -> BoxFuture<'a, Result<bool, Error>> {
        Box::pin(async move {
            let held: i64 = self.run(LEASE, &[key], &[holder.to_owned(), millis(ttl).to_string()]).await?;
            Ok(held == 1)
        })
    }

    fn release<'a>(&'a self, key: &'a str, holder: &'a str) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(async move {
            let _: i64 = self.run(DELETE_IF, &[key], &[holder.to_owned()]).await?;
            Ok(())
        })
    }
}

/// The keys of a scope's channel places: their expiries and their counts.
#[cfg(feature = "notifications")]
fn place_keys(scope: &str) -> [String; 2] {
    [format!("{scope}:channels"), format!("{scope}:channels:count")]
}

/// The key of a topic's lease in a scope.
#[cfg(feature = "notifications")]
fn topic_key(scope: &str, topic: &str) -> String {
    format!("{scope}:topic:{topic}")
}

#[cfg(feature = "notifications")]
impl genesys_cloud_notifications::ChannelLeases for RedisStore {
    fn take_channels<'a>(
        &'a self,
        scope: &'a str,
        member: &'a str,
        channels: usize,
        limit: usize,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<genesys_cloud_notifications::ChannelGrant, Error>> {
        use genesys_cloud_notifications::ChannelGrant;
        Box::pin(async move {
            let [places, counts] = place_keys(scope);
            let args = [member.to_owned(), channels.to_string(), limit.to_string(), millis(ttl).to_string()];
            let answer: Vec<String> = self.run(TAKE_CHANNELS, &[&places, &counts], &args).await?;
            match answer.split_first() {
                Some((status, _)) if status == "ok" => Ok(ChannelGrant::Granted),
                Some((status, rest)) if status == "full" => {
                    let holders = rest
                        .chunks(2)
                        .filter_map(|pair| match pair {
                            [holder, n] => Some((holder.clone(), n.parse().unwrap_or(0))),
                            _ => None,
                        })
                        .collect();
                    Ok(ChannelGrant::Full { holders })
                }
                _ => Err(Error::new(ErrorKind::Decode, "redis: the channel places' script answered something else")),
            }
        })
    }

    fn claim_topics<'a>(
        &'a self,
        scope: &'a str,
        holder: &'a str,
        topics: &'a [String],
        ttl: Duration,
    ) -> BoxFuture<'a, Result<Vec<Option<String>>, Error>> {
        Box::pin(async move {
            if topics.is_empty() {
                return Ok(Vec::new());
            }
            let keys: Vec<String> = topics.iter().map(|t| topic_key(scope, t)).collect();
            let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
            let answer: Vec<String> =
                self.run(CLAIM_TOPICS, &keys, &[holder.to_owned(), millis(ttl).to_string()]).await?;
            Ok(answer.into_iter().map(|h| (!h.is_empty()).then_some(h)).collect())
        })
    }

    fn release<'a>(
        &'a self,
        scope: &'a str,
        member: &'a str,
        holder: &'a str,
        topics: &'a [String],
    ) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(async move {
            let [places, counts] = place_keys(scope);
            let mut keys = vec![places, counts];
            keys.extend(topics.iter().map(|t| topic_key(scope, t)));
            let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
            let _: i64 = self.run(RELEASE_CHANNELS, &keys, &[member.to_owned(), holder.to_owned()]).await?;
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stored_value_gives_back_its_token_and_whole_lifetime() {
        let value = encode(&Secret::new("tok:with:colons"), Duration::from_secs(60));
        let stored = decode(&value, 5_000).unwrap();
        assert_eq!(stored.token.expose(), "tok:with:colons");
        assert_eq!(stored.expires_in, Duration::from_secs(65));
        assert!(decode(&value, -1).is_none() && decode(&value, -2).is_none());
        assert!(decode("not-a-value", 5).is_none());
    }
}
