-- wrk script: POST /api/requests with a valid help request (JSON, with an e-mail so every request also writes
-- an outbox row). Usage (the server's [intake] per_minute = 0 lifts the rate limit):
--   wrk -t2 -c32 -d20s -s benches/http/intake.lua http://127.0.0.1:8080
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local counter = 0
request = function()
  counter = counter + 1
  local body = string.format(
    '{"kind":"help","enterprise_name":"滕州市恒达机械制造有限公司","contact_name":"王经理",' ..
    '"contact_phone":"13812345678","contact_email":"wang%d@hengda.example","town":"荆河街道",' ..
    '"description":"厂区门前道路破损严重，货车进出困难，希望协调修复（第%d次反映）。"}',
    counter % 1000, counter)
  return wrk.format("POST", "/api/requests", { ["Content-Type"] = "application/json" }, body)
end
