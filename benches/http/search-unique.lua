-- wrk script: GET /api/search where nearly every query is new (three words drawn from a vocabulary of
-- policy terms), so the response cache rarely helps: the uncached throughput.
-- Usage: wrk -t2 -c32 -d20s -s benches/http/search-unique.lua http://127.0.0.1:8080
local words = {
  "小微企业", "税收优惠", "研发费用", "加计扣除", "应届生", "补贴", "创业担保贷款", "稳岗返还",
  "高新技术企业", "专精特新", "排污许可", "环评", "营业执照", "人才公寓", "首贷贴息", "标准地",
  "施工许可", "数字化转型", "技术改造", "知识产权", "上市", "用电", "绿色工厂", "就业见习",
  "300万元", "科技型中小企业", "留抵退税", "社保", "多久", "条件", "材料", "流程",
}
local function encode(s)
  return (s:gsub("[^%w%-_%.~]", function(c) return string.format("%%%02X", string.byte(c)) end))
end
math.randomseed(os.time())
request = function()
  local q = words[math.random(#words)] .. words[math.random(#words)] .. words[math.random(#words)]
  return wrk.format("GET", "/api/search?limit=10&q=" .. encode(q))
end
