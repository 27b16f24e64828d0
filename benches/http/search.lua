-- wrk script: GET /api/search with a rotating list of enterprise questions (URL-encoded), so the load is not
-- one repeated query. Usage: wrk -t2 -c32 -d20s -s benches/http/search.lua http://127.0.0.1:8080
local queries = {
  "小微企业有哪些税收优惠", "研发投入能多扣多少", "招了应届生有补贴吗", "创业担保贷款最多能贷多少",
  "稳岗返还怎么申请", "高新技术企业认定条件", "专精特新企业有什么奖励", "排污许可证怎么办",
  "环评要多长时间", "营业执照办理需要什么材料", "人才公寓申请条件", "首贷贴息比例",
  "标准地出让流程", "施工许可办理时限", "数字化转型补助", "技术改造奖补最高多少",
  "知识产权质押融资", "企业上市挂牌奖励", "用电报装", "绿色工厂认定", "就业见习补贴标准",
  "300万元", "科技型中小企业评价", "留抵退税",
}
local function encode(s)
  return (s:gsub("[^%w%-_%.~]", function(c) return string.format("%%%02X", string.byte(c)) end))
end
local paths = {}
for i, q in ipairs(queries) do
  paths[i] = "/api/search?limit=10&q=" .. encode(q)
end
local counter = 0
request = function()
  counter = counter + 1
  return wrk.format("GET", paths[(counter % #paths) + 1])
end
