-- wrk script for bench/endpoint.sh: single-review JSON POSTs to /invocations.
wrk.method = "POST"
wrk.path = "/invocations"
wrk.headers["Content-Type"] = "application/json"
local reviews = {
  '{"text": "I love this dress, the fabric is lovely and it fits perfectly"}',
  '{"text": "Terrible fit and the zipper broke after two days"}',
  '{"text": "It is okay, nothing special about the colour"}',
  '{"text": "Runs small, had to return it, but the customer service was great"}',
}
local i = 0
request = function()
  i = i + 1
  return wrk.format(nil, nil, nil, reviews[(i % #reviews) + 1])
end
