// Tests for <gale/json.hpp> and <gale/json_parse.hpp>: building, reading and
// comparing values, Python's json.dumps text byte for byte, parsing through
// simdjson with Python's error messages and places, and gale's documented
// differences (int64 integers, strict numbers, UTF-8 strings).
#include <gale/json.hpp>  // first: the header compiles alone
#include <gale/json_parse.hpp>

#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <doctest/doctest.h>

namespace {

namespace json = gale::json;
using namespace std::literals;

// The tables below were produced once by running /usr/bin/python3 (Debian's
// python3-tornado 6.2) over the inputs: json.dumps, tornado.escape.json_encode,
// repr of floats (given here as exact hex literals) and json.loads' errors
// (the generator is at the end of test_escape.cpp).
// Generated once by /usr/bin/python3 with Tornado 6.2 (xhtml_escape's ' as &#x27;, as 6.3+).
struct text_case { std::string_view in; std::string_view out; };
struct float_case { double value; std::string_view repr; };
struct doc_case { std::string_view text; std::string_view dumps; std::string_view json_encode; };
struct error_case { std::string_view text; std::size_t offset; std::string_view reason; };
inline const text_case json_string_cases[] = {  // string, json.dumps(string)
    {""sv, "\"\""sv},
    {"plain"sv, "\"plain\""sv},
    {"\"quote\" \\back\\"sv, "\"\\\"quote\\\" \\\\back\\\\\""sv},
    {"/slash </script> <\\/ </"sv, "\"/slash </script> <\\\\/ </\""sv},
    {"\010\014\012\015\011"sv, "\"\\b\\f\\n\\r\\t\""sv},
    {"\000\001\002\003\004\005\006\007\010\011\012\013\014\015\016\017\020\021\022\023\024\025\026\027\030\031\032\033\034\035\036\037"sv, "\"\\u0000\\u0001\\u0002\\u0003\\u0004\\u0005\\u0006\\u0007\\b\\t\\n\\u000b\\f\\r\\u000e\\u000f\\u0010\\u0011\\u0012\\u0013\\u0014\\u0015\\u0016\\u0017\\u0018\\u0019\\u001a\\u001b\\u001c\\u001d\\u001e\\u001f\""sv},
    {"\177\302\200\302\237\302\240\303\277"sv, "\"\\u007f\\u0080\\u009f\\u00a0\\u00ff\""sv},
    {"\303\251\344\270\255\357\277\277\357\277\275"sv, "\"\\u00e9\\u4e2d\\uffff\\ufffd\""sv},
    {"\360\237\230\200\360\220\200\200\364\217\277\277"sv, "\"\\ud83d\\ude00\\ud800\\udc00\\udbff\\udfff\""sv},
    {"mixed \303\251 \360\237\230\200 x"sv, "\"mixed \\u00e9 \\ud83d\\ude00 x\""sv},
    {"\342\200\250\342\200\251"sv, "\"\\u2028\\u2029\""sv},
    {"<</</>"sv, "\"<</</>\""sv},
    {"a\000b"sv, "\"a\\u0000b\""sv},
};
inline const text_case json_encode_cases[] = {  // string, tornado json_encode(string)
    {""sv, "\"\""sv},
    {"plain"sv, "\"plain\""sv},
    {"\"quote\" \\back\\"sv, "\"\\\"quote\\\" \\\\back\\\\\""sv},
    {"/slash </script> <\\/ </"sv, "\"/slash <\\/script> <\\\\/ <\\/\""sv},
    {"\010\014\012\015\011"sv, "\"\\b\\f\\n\\r\\t\""sv},
    {"\000\001\002\003\004\005\006\007\010\011\012\013\014\015\016\017\020\021\022\023\024\025\026\027\030\031\032\033\034\035\036\037"sv, "\"\\u0000\\u0001\\u0002\\u0003\\u0004\\u0005\\u0006\\u0007\\b\\t\\n\\u000b\\f\\r\\u000e\\u000f\\u0010\\u0011\\u0012\\u0013\\u0014\\u0015\\u0016\\u0017\\u0018\\u0019\\u001a\\u001b\\u001c\\u001d\\u001e\\u001f\""sv},
    {"\177\302\200\302\237\302\240\303\277"sv, "\"\\u007f\\u0080\\u009f\\u00a0\\u00ff\""sv},
    {"\303\251\344\270\255\357\277\277\357\277\275"sv, "\"\\u00e9\\u4e2d\\uffff\\ufffd\""sv},
    {"\360\237\230\200\360\220\200\200\364\217\277\277"sv, "\"\\ud83d\\ude00\\ud800\\udc00\\udbff\\udfff\""sv},
    {"mixed \303\251 \360\237\230\200 x"sv, "\"mixed \\u00e9 \\ud83d\\ude00 x\""sv},
    {"\342\200\250\342\200\251"sv, "\"\\u2028\\u2029\""sv},
    {"<</</>"sv, "\"<<\\/<\\/>\""sv},
    {"a\000b"sv, "\"a\\u0000b\""sv},
};
inline const float_case float_cases[] = {
    {0x0.0p+0, "0.0"sv},
    {-0x0.0p+0, "-0.0"sv},
    {0x1.0000000000000p+0, "1.0"sv},
    {-0x1.0000000000000p+0, "-1.0"sv},
    {0x1.999999999999ap-4, "0.1"sv},
    {0x1.0000000000000p-1, "0.5"sv},
    {0x1.8000000000000p+0, "1.5"sv},
    {0x1.4000000000000p+1, "2.5"sv},
    {0x1.5555555555555p-2, "0.3333333333333333"sv},
    {0x1.5555555555555p-1, "0.6666666666666666"sv},
    {0x1.9000000000000p+6, "100.0"sv},
    {0x1.c6bf526340000p+49, "1000000000000000.0"sv},
    {0x1.1c37937e08000p+53, "1e+16"sv},
    {0x1.aa535d3d0c000p+53, "1.5e+16"sv},
    {0x1.b69b4ba630f35p+56, "1.2345678901234568e+17"sv},
    {0x1.a36e2eb1c432dp-14, "0.0001"sv},
    {0x1.4f8b588e368f1p-17, "1e-05"sv},
    {0x1.9e3abe16fc70dp-17, "1.2345e-05"sv},
    {0x1.02e4b6ce5dc68p-13, "0.00012345"sv},
    {0x0.0000000000001p-1022, "5e-324"sv},
    {0x1.0000000000000p-1022, "2.2250738585072014e-308"sv},
    {0x1.fffffffffffffp+1023, "1.7976931348623157e+308"sv},
    {0x1.0000000000000p+53, "9007199254740992.0"sv},
    {0x1.0f0cf064dd592p+73, "1e+22"sv},
    {0x1.b1ae4d6e2ef50p+69, "1e+21"sv},
    {0x1.52d02c7e14af6p+76, "1e+23"sv},
    {0x1.921fb54442d18p+1, "3.141592653589793"sv},
    {0x1.5bf0a8b145769p+1, "2.718281828459045"sv},
    {0x1.249ad2594c37dp+332, "1e+100"sv},
    {0x1.bff2ee48e0530p-333, "1e-100"sv},
    {0x1.81cd6e631f8a1p+13, "12345.6789"sv},
    {0x1.3333333333333p-2, "0.3"sv},
    {0x1.6666666666666p-1, "0.7"sv},
    {0x1.ddd4baa009303p+999, "1e+301"sv},
    {std::numeric_limits<double>::quiet_NaN(), "NaN"sv},
    {0x1.2ba377829acd5p-163, "1.0010791521556837e-49"sv},
    {-0x1.a553fe1a9d361p+431, "-9.126590962901843e+129"sv},
    {-0x1.57d3c535967b1p-54, "-7.455564549530523e-17"sv},
    {0x1.47792cc053ea9p-319, "1.1977532722329713e-96"sv},
    {0x1.32afaa2b9b4b3p-23, "1.4281188619476626e-07"sv},
    {0x1.cba897874bb47p+231, "6.1961851602156715e+69"sv},
    {0x1.ef92fd89bebf4p-879, "4.8028886504030177e-265"sv},
    {-0x1.b32ebdc42c9fbp-247, "-7.516620279855649e-75"sv},
    {-0x1.87c5e9b0b6608p-889, "-3.7079041518615043e-268"sv},
    {-0x1.cb54d27091f27p+168, "-6.7131349972236456e+50"sv},
    {-0x1.cf57fed17095ap-43, "-2.057659518177627e-13"sv},
    {0x1.f1b393a1a53cbp+119, "1.2921068932887993e+36"sv},
    {-0x1.8b5b1f4ee977cp+142, "-8.610090063559354e+42"sv},
    {0x1.ef5498ef1b273p+32, "8310266095.106067"sv},
    {-0x1.fc319e0a44ed0p+374, "-7.638494856256509e+112"sv},
    {0x1.0ed00a69c6a70p+862, "3.253008950543635e+259"sv},
    {0x1.d3ca2b3e1835ep+233, "2.5223171930865037e+70"sv},
    {0x1.7f3b2d06772dap+866, "7.365412739448992e+260"sv},
    {0x1.51ad08731be3cp-12, "0.0003220328428090479"sv},
    {-0x1.5ebdf6cd2d889p-5, "-0.04281519130147255"sv},
    {0x1.e54b4d995f566p+307, "4.942808241979905e+92"sv},
    {0x1.58f65092fe005p-67, "9.1310725304752e-21"sv},
    {-0x1.792f8faff3ff0p-709, "-5.4707696316204e-214"sv},
    {-0x1.03ea8515b3eabp-74, "-5.374938829898322e-23"sv},
    {0x1.2231f95b1ce89p-596, "4.370920025212236e-180"sv},
    {0x1.1a80d018d1b80p+235, "6.09301643167198e+70"sv},
    {0x1.46ef10769fbb0p-92, "2.5790532888344916e-28"sv},
    {-0x1.0d34e2f1e1e95p+384, "-4.1434686112069135e+115"sv},
    {0x1.0fdc4069cf75bp-716, "3.080555400581911e-216"sv},
    {0x1.55957a89fdfcdp-60, "1.1573312737546533e-18"sv},
    {0x1.332460526f131p+699, "3.1554866396661724e+210"sv},
    {-0x1.84a80b0995bffp+66, "-1.120225856743937e+20"sv},
    {0x1.9ce0d8ce5812ap+381, "7.943473465798232e+114"sv},
    {-0x1.d53b686409f03p+687, "-1.176941115150883e+207"sv},
    {0x1.eb77b2341cd77p-249, "2.1221983563719356e-75"sv},
    {-0x1.70fad10443c3ap-601, "-1.7367414722316875e-181"sv},
    {-0x1.0f62978f9f8e1p-208, "-2.576955840937119e-63"sv},
    {-0x1.c53a811fde9bap-54, "-9.827827197522797e-17"sv},
    {0x1.33893814f3033p-728, "8.50783717364354e-220"sv},
    {0x1.24901d0233776p-14, "6.975244108106495e-05"sv},
    {-0x1.32ca5ad397804p+9, "-613.5808968057395"sv},
    {-0x1.49c60172d301fp-986, "-1.969699662049783e-297"sv},
    {0x1.ca902ec3616b7p+385, "1.4115867641977445e+116"sv},
    {-0x1.f69707d219787p+39, "-1079303727372.7352"sv},
    {0x1.5c81d1d31ef6ep-83, "1.4076089990670493e-25"sv},
    {-0x1.9bfd0ff0c03e9p-137, "-9.237102186810704e-42"sv},
    {0x1.8508ad11f752ap-940, "1.6351272160365598e-283"sv},
    {-0x1.695e0d744d2efp+72, "-6.666051811498259e+21"sv},
    {-0x1.a276267df0950p-1002, "-3.8138175476278726e-302"sv},
    {0x1.8dc0de8c9a0afp-905, "5.744177545092004e-273"sv},
    {-0x1.8b5a30dfa0d29p+436, "-2.7404534089717214e+131"sv},
    {0x1.b6faec1e06ad6p-364, "4.5633786979484315e-110"sv},
    {0x1.1b0e2776db610p-143, "9.916123568591903e-44"sv},
    {-0x1.0134cd38bc719p+926, "-5.699247900886494e+278"sv},
    {0x1.2c317aac997b9p+910, "1.0149789894988852e+274"sv},
    {-0x1.84a2ed2aeb91dp+320, "-3.2426655435088974e+96"sv},
    {0x1.2c1249a117889p+260, "2.1716186558825443e+78"sv},
    {-0x1.72355313527ccp-509, "-8.628561358043405e-154"sv},
    {0x1.227fbfa0d5e4bp+957, "1.3823262442019907e+288"sv},
    {-0x1.7007a309e2f6ep+191, "-4.5120326057035286e+57"sv},
    {-0x1.e2978d26e743bp-769, "-6.071185256423141e-232"sv},
    {0x1.4c9eb73b40a3dp-514, "2.4226495802047733e-155"sv},
    {-0x1.0be10e6e7cc2ap-644, "-1.4334472016019933e-194"sv},
    {0x1.ff1a577cf4068p-568, "2.0664782591153473e-171"sv},
    {0x1.24bfb8d9ac353p-773, "2.301805797621569e-233"sv},
    {-0x1.0c4ecd93a4433p+707, "-7.05667809769845e+212"sv},
    {0x1.2b507c3c76270p-651, "1.2512971702081736e-196"sv},
    {0x1.35e33c723e913p-604, "1.8232528862427987e-182"sv},
    {0x1.67a8a88934a56p+783, "7.147223394232424e+235"sv},
    {-0x1.65ad0b18a8936p-742, "-6.039388838705273e-224"sv},
    {-0x1.b199570bdd78cp+745, "-3.1346933366534507e+224"sv},
    {0x1.fcd10f0f1d8cdp-118, "5.9811108126093965e-36"sv},
    {-0x1.becdc3dabd118p+601, "-1.4484524990776565e+181"sv},
    {0x1.1735470132121p+226, "1.1761618564407173e+68"sv},
    {0x1.89c2f25fefd95p+391, "7.757496745112871e+117"sv},
    {0x1.707562e415ae1p-913, "2.0785602641239387e-275"sv},
    {0x1.046af0bfc21b8p-1012, "2.3177947870085316e-305"sv},
    {0x1.ef43f66c9a999p+583, "6.1247104864248495e+175"sv},
    {0x1.3e0e91a9eb002p-100, "9.800885236505965e-31"sv},
    {-0x1.8777b775ea075p-846, "-3.258964082793121e-255"sv},
    {0x1.f38150cb92cf0p+309, "2.035019877368562e+93"sv},
    {0x1.d2994e4e45949p-670, "3.7205453703047295e-202"sv},
    {0x1.2d46407966649p-190, "7.499341306277413e-58"sv},
    {0x1.f45ca3ccdfbc2p+801, "2.6065782813456166e+241"sv},
    {-0x1.e8040107a5a44p-674, "-2.432073515093543e-203"sv},
    {0x1.2df019cffa97dp-725, "6.682374323415804e-219"sv},
    {-0x1.79cdc738e0113p+788, "-2.402497608330122e+237"sv},
    {-0x1.7baa1d45f5695p+631, "-1.3215612623050233e+190"sv},
    {-0x1.4cf460d247ab6p+521, "-8.928382716133504e+156"sv},
    {0x1.8508760867e82p+435, "1.348325188281006e+131"sv},
    {-0x1.8a900744ee02fp-890, "-1.8671526377145695e-268"sv},
    {-0x1.d574484161d64p+162, "-1.0720439409169595e+49"sv},
    {0x1.8b2836b36c94ep+766, "5.99109885985952e+230"sv},
    {0x1.a150ff19b8bcfp-222, "2.4186133280218237e-67"sv},
    {0x1.25b09c9ac39d2p-431, "2.0688113944224925e-130"sv},
    {0x1.dbb0bd766c56dp+780, "1.181628701302505e+235"sv},
    {0x1.4d237124a4a26p+983, "1.0638258200648068e+296"sv},
    {0x1.f35142f9362a4p+886, "1.0062662758272645e+267"sv},
    {-0x1.de7a1abf849c4p-1017, "-1.3308082490967647e-306"sv},
    {0x1.533c11ac8a240p+694, "1.0891237387384558e+209"sv},
    {0x1.f912cb83a8657p+159, "1.4417297406372419e+48"sv},
    {-0x1.be20149137b75p-850, "-2.3212428914814306e-256"sv},
    {-0x1.ffa93bea08113p+919, "-8.857444198751348e+276"sv},
    {-0x1.c94904fa28784p+421, "-9.673316229844119e+126"sv},
    {-0x1.e15337be575e0p-818, "-1.0756279124620991e-246"sv},
    {0x1.91d7277e8363ep-904, "1.1606401820905562e-272"sv},
    {-0x1.521fd0a332d08p-440, "-4.651984903985349e-133"sv},
    {-0x1.a22bf6b2c2086p+886, "-8.42734678858846e+266"sv},
    {-0x1.11a68ab5fd845p-531, "-1.520647908347749e-160"sv},
    {-0x1.e70e11f41f2bdp+946, "-1.1316546297413275e+285"sv},
    {0x1.1056cfd5983e4p+981, "2.1741814848277746e+295"sv},
    {-0x1.a8ec12440704cp+559, "-3.132109846849469e+168"sv},
    {-0x1.7634ab48370f8p-791, "-1.1223903077116402e-238"sv},
    {-0x1.bf468adcd4459p-441, "-3.0768555762407886e-133"sv},
    {-0x1.5dc826ae73804p-41, "-6.213373641942694e-13"sv},
    {0x1.bd5a65732886ap-320, "8.144527839547919e-97"sv},
    {-0x1.f0bc91ec6d12bp+432, "-2.1520101894728908e+130"sv},
    {-0x1.bb2702eb2fc28p-270, "-9.124609758445596e-82"sv},
    {-0x1.00dd197f120a1p+405, "-8.291077266261318e+121"sv},
    {0x1.ea1026bc072cbp+337, "5.3594542553477397e+101"sv},
    {0x1.55f893ebc98c3p+196, "1.3416167513089352e+59"sv},
    {0x1.b64c0bdc927dbp+327, "4.6809841474253875e+98"sv},
    {-0x1.34836064ccc34p-224, "-4.4700742985918874e-68"sv},
    {-0x1.21ee4626b2368p-70, "-9.593004077425558e-22"sv},
    {0x1.63bb90de33911p+397, "4.485305994386275e+119"sv},
    {0x1.fd755272cb704p+694, "1.6356322253153845e+209"sv},
    {-0x1.36ede076cc773p+334, "-4.250500823970213e+100"sv},
    {-0x1.d796e8712ce40p+1010, "-2.021248765878953e+304"sv},
    {-0x1.8c4f7a3e2ca86p+129, "-1.0535739143251791e+39"sv},
    {-0x1.ad80a5d5c113cp-691, "-1.6330472766473983e-208"sv},
    {0x1.5320bbb7a3f1fp+908, "2.866550337379363e+273"sv},
    {-0x1.73f9bd85eab78p-646, "-4.976193139787541e-195"sv},
    {-0x1.3201b822aec96p-949, "-2.5120316539947435e-286"sv},
    {0x1.0468a51867881p+996, "6.812261658597727e+299"sv},
    {-0x1.7e0aacaccbe11p-653, "-3.992855853451243e-197"sv},
    {-0x1.4d19c17b0ae2ep-823, "-2.326210594360853e-248"sv},
    {0x1.67007f542fbf8p+674, "1.0991928915553548e+203"sv},
    {-0x1.55d26c82dd68dp+92, "-6.611798450050553e+27"sv},
    {0x1.faf25954fdd45p-14, "0.00012086550607636356"sv},
    {-0x1.6690e479e9c37p+608, "-1.4878751425005897e+183"sv},
    {-0x1.1bd5d0ac6a0dbp-592, "-6.840201238993272e-179"sv},
    {0x1.016e7d764933dp+60, "1.1593688663858373e+18"sv},
    {-0x1.11516a952bbaep+817, "-9.331141560128098e+245"sv},
    {0x1.80bd2a187d0e8p+46, "105756230033219.62"sv},
    {-0x1.d8bfa6c8f32ebp+630, "-8.227873195911562e+189"sv},
    {-0x1.41fc5c2d8794dp+569, "-2.430324481584447e+171"sv},
    {0x1.a185a9c687baap-454, "3.5060773581829744e-137"sv},
    {0x1.0246f99289de6p+46, "70994708701815.6"sv},
    {0x1.2e25a90d87d94p-1015, "3.36149818823203e-306"sv},
    {-0x1.e3f28b9b91379p+645, "-2.7599768369632227e+194"sv},
    {-0x1.5700000000000p+8, "-343.0"sv},
    {0x1.42ff5bcd82600p+18, "330749.43441829085"sv},
    {0x1.ea00000000000p+7, "245.0"sv},
    {-0x1.d7ebfbc469981p+18, "-483247.9338630662"sv},
    {0x1.a3c0000000000p+9, "839.5"sv},
    {-0x1.a05446f230304p+17, "-213160.55426599842"sv},
    {-0x1.2cccccccccccdp+6, "-75.2"sv},
    {0x1.8eec77bbdff32p+19, "816995.741683936"sv},
    {-0x1.ba9999999999ap+9, "-885.2"sv},
    {0x1.0e8cfb83f8240p+19, "554087.8598595336"sv},
    {0x1.67ae1522a6f3fp+9, "719.36002"sv},
    {0x1.dcfad501482bep+19, "976854.6564064843"sv},
    {0x1.d88cccccccccdp+9, "945.1"sv},
    {-0x1.c97cd34d81ca0p+15, "-58558.412700706394"sv},
    {0x1.18d810624dd2fp+9, "561.688"sv},
    {-0x1.1b52390e8f1a1p+19, "-580241.7830272206"sv},
    {0x1.3561cac083127p+6, "77.3455"sv},
    {0x1.6a35b43f402d6p+19, "741805.6327210318"sv},
    {0x1.0d10df9bdc6a0p+8, "269.065912"sv},
    {-0x1.6385d91d553a4p+18, "-364055.39241533936"sv},
    {0x1.8b80000000000p+9, "791.0"sv},
    {-0x1.08d23bef972d0p+16, "-67794.23412461136"sv},
    {0x1.bbe6666666666p+8, "443.9"sv},
    {-0x1.3e61626eae8dcp+17, "-163010.76900274202"sv},
    {0x1.4f1474538ef35p+7, "167.53995"sv},
    {0x1.6ed59bd98acb4p+19, "751276.8703054399"sv},
    {-0x1.5c5eb851eb852p+9, "-696.74"sv},
    {0x1.8e3a7490d2020p+15, "50973.22766739153"sv},
    {0x1.da0778feef5edp+9, "948.05838"sv},
    {0x1.0a989621bf9a4p+19, "545988.6916196835"sv},
    {-0x1.44d7525460aa6p+9, "-649.6822"sv},
    {-0x1.c346bba9c1e30p+19, "-924213.8644723352"sv},
    {-0x1.70ef35d249e45p+9, "-737.86883"sv},
    {-0x1.2055fe78931eap+19, "-590511.9522185896"sv},
    {-0x1.9e3f30c671690p+9, "-828.493676"sv},
    {0x1.fb6d6f0692760p+18, "519605.73477612995"sv},
    {-0x1.d8970a3d70a3dp+8, "-472.59"sv},
    {-0x1.7a06408f90d7ap+18, "-387097.00876256044"sv},
    {-0x1.6ab902de00d1bp+8, "-362.7227"sv},
    {-0x1.874a91c64aa6ep+19, "-801364.5554555187"sv},
    {0x1.7f4db22d0e560p+9, "766.607"sv},
    {0x1.04d37bf03acb8p+17, "133542.96826872765"sv},
    {-0x1.cc7de00d1b717p+9, "-920.9834"sv},
    {0x1.39e7a5ee44b72p+19, "642877.1853355004"sv},
    {-0x1.6bab7e90ff972p+8, "-363.6699"sv},
    {-0x1.cc388e5b68ddap+19, "-942532.4486584023"sv},
    {-0x1.11e7f43419e30p+8, "-273.90607"sv},
    {0x1.c260e13e7a378p+19, "922375.0388766369"sv},
    {0x1.5e820902de00dp+9, "701.0159"sv},
    {-0x1.cc8e439398f48p+16, "-117902.26397090883"sv},
    {0x1.3b5a32f44912ap+8, "315.35234"sv},
    {-0x1.315e82c758f56p+19, "-625396.0868344109"sv},
    {0x1.d3147ae147ae1p+9, "934.16"sv},
    {0x1.616b38cef637ap+19, "723801.7752638899"sv},
    {0x1.16b3dd97f62b7p+9, "557.4052"sv},
    {-0x1.20a11678c00fep+19, "-591112.7022400198"sv},
    {-0x1.ec2d5410f94c8p+5, "-61.522133"sv},
    {-0x1.ba5f448b4c21fp+19, "-905978.1420040763"sv},
    {-0x1.6b00000000000p+8, "-363.0"sv},
    {0x1.15be42977e368p+19, "568818.0809928002"sv},
    {-0x1.d366666666666p+6, "-116.85"sv},
    {0x1.3acf0c3c69dd2p+19, "644728.3823746985"sv},
    {-0x1.8e6a7ef9db22dp+9, "-796.832"sv},
    {-0x1.51ed7b268612ep+19, "-692075.8484526032"sv},
    {0x1.332626d4801f7p+8, "307.14903"sv},
    {-0x1.75df073da8a66p+18, "-382844.1131383538"sv},
    {0x1.e158d94078961p+9, "962.69413"sv},
    {-0x1.c3d84b124f9b4p+17, "-231344.58649630623"sv},
    {-0x1.a300000000000p+9, "-838.0"sv},
    {0x1.2fbd01df5baf0p+16, "77757.00731442473"sv},
    {-0x1.c3526e978d4fep+8, "-451.322"sv},
    {-0x1.7b02c9a88500ap+19, "-776214.301821233"sv},
    {0x1.1f5eb1c432ca5p+9, "574.7398"sv},
    {-0x1.219410901c064p+19, "-593056.5175914881"sv},
    {0x1.55ef5c28f5c29p+9, "683.87"sv},
    {-0x1.7bbc0d7abdbeep+19, "-777696.4212330559"sv},
    {-0x1.2d1d08d4bad7dp+5, "-37.639177"sv},
    {-0x1.9b0dd6058a6f4p+17, "-210459.67204409058"sv},
    {-0x1.4471eb851eb85p+9, "-648.89"sv},
    {-0x1.3b293d66504d0p+19, "-645449.9187394623"sv},
    {0x1.15d22d0e56042p+8, "277.821"sv},
    {0x1.8ce4c4b2d0550p+19, "812838.1468278561"sv},
    {-0x1.a000000000000p+4, "-26.0"sv},
    {0x1.7321bfcff8e48p+18, "380038.99706861796"sv},
    {0x1.7b9d1633482bfp+8, "379.61362"sv},
    {0x1.f1b97ddf83dc0p+17, "254834.98338363878"sv},
    {-0x1.b2b0624dd2f1bp+9, "-869.378"sv},
    {0x1.271c44c19027ap+19, "604386.1486283087"sv},
    {-0x1.88170a3d70a3dp+8, "-392.09"sv},
    {0x1.89ad31abc8f50p+19, "806249.5522198472"sv},
    {0x1.281cdf7a4e7abp+9, "592.22557"sv},
    {-0x1.e278c498574e8p+17, "-247025.53589907964"sv},
    {0x1.ce80000000000p+8, "462.5"sv},
    {-0x1.3dc4507e5fc4ep+19, "-650786.5154265256"sv},
    {0x1.3d20c49ba5e35p+9, "634.256"sv},
    {0x1.e97dd7220feb8p+17, "250619.68072699546"sv},
    {-0x1.81251eb851eb8p+9, "-770.29"sv},
    {-0x1.81b2f7fd11824p+19, "-789911.7496421379"sv},
    {0x1.bc765f30e7ff6p+9, "888.92478"sv},
    {-0x1.c146985200afap+18, "-460058.3800050464"sv},
    {-std::numeric_limits<double>::infinity(), "-Infinity"},
};
inline const doc_case doc_cases[] = {
    {"{\"a\":1,\"b\":[true,false,null],\"c\":{\"d\":\"e\"}}"sv, "{\"a\": 1, \"b\": [true, false, null], \"c\": {\"d\": \"e\"}}"sv, "{\"a\": 1, \"b\": [true, false, null], \"c\": {\"d\": \"e\"}}"sv},
    {"{\"a\":1,\"b\":2,\"a\":3}"sv, "{\"a\": 3, \"b\": 2}"sv, "{\"a\": 3, \"b\": 2}"sv},
    {"{\"z\":1,\"a\":2,\"m\":{\"y\":1,\"b\":2}}"sv, "{\"z\": 1, \"a\": 2, \"m\": {\"y\": 1, \"b\": 2}}"sv, "{\"z\": 1, \"a\": 2, \"m\": {\"y\": 1, \"b\": 2}}"sv},
    {"[1,-1,0,-0,9223372036854775807,-9223372036854775808]"sv, "[1, -1, 0, 0, 9223372036854775807, -9223372036854775808]"sv, "[1, -1, 0, 0, 9223372036854775807, -9223372036854775808]"sv},
    {"[1.0,1e2,1E-2,-0.0,0.1,1e16,1.5e300,2.5E-300]"sv, "[1.0, 100.0, 0.01, -0.0, 0.1, 1e+16, 1.5e+300, 2.5e-300]"sv, "[1.0, 100.0, 0.01, -0.0, 0.1, 1e+16, 1.5e+300, 2.5e-300]"sv},
    {"\"\\u00e9\\ud83d\\ude00\\n\\t\\\"\\\\\\/\""sv, "\"\\u00e9\\ud83d\\ude00\\n\\t\\\"\\\\/\""sv, "\"\\u00e9\\ud83d\\ude00\\n\\t\\\"\\\\/\""sv},
    {"[]"sv, "[]"sv, "[]"sv},
    {"{}"sv, "{}"sv, "{}"sv},
    {"[[],{},[[]],{\"\":{}}]"sv, "[[], {}, [[]], {\"\": {}}]"sv, "[[], {}, [[]], {\"\": {}}]"sv},
    {"  [ 1 , 2 ]  "sv, "[1, 2]"sv, "[1, 2]"sv},
    {"\"\303\251\344\270\255\360\237\230\200\""sv, "\"\\u00e9\\u4e2d\\ud83d\\ude00\""sv, "\"\\u00e9\\u4e2d\\ud83d\\ude00\""sv},
    {"{\"k\":\"</script>\"}"sv, "{\"k\": \"</script>\"}"sv, "{\"k\": \"<\\/script>\"}"sv},
    {"[1e-7, 123.456, 1e21, 1e22]"sv, "[1e-07, 123.456, 1e+21, 1e+22]"sv, "[1e-07, 123.456, 1e+21, 1e+22]"sv},
    {"{\"a\":{\"a\":{\"a\":{\"a\":[1,{\"b\":null}]}}}}"sv, "{\"a\": {\"a\": {\"a\": {\"a\": [1, {\"b\": null}]}}}}"sv, "{\"a\": {\"a\": {\"a\": {\"a\": [1, {\"b\": null}]}}}}"sv},
    {"\"\\u0000\\u001f\\u007f\""sv, "\"\\u0000\\u001f\\u007f\""sv, "\"\\u0000\\u001f\\u007f\""sv},
    {"[0.30000000000000004, 100, 100.0, 1e0]"sv, "[0.30000000000000004, 100, 100.0, 1.0]"sv, "[0.30000000000000004, 100, 100.0, 1.0]"sv},
    {"{\"dup\":[1],\"x\":0,\"dup\":{\"y\":[2]}}"sv, "{\"dup\": {\"y\": [2]}, \"x\": 0}"sv, "{\"dup\": {\"y\": [2]}, \"x\": 0}"sv},
};
inline const error_case error_cases[] = {
    {""sv, 0, "Expecting value"sv},
    {" "sv, 1, "Expecting value"sv},
    {"[1,"sv, 3, "Expecting value"sv},
    {"[1 2]"sv, 3, "Expecting ',' delimiter"sv},
    {"{\"a\" 1}"sv, 5, "Expecting ':' delimiter"sv},
    {"{1:2}"sv, 1, "Expecting property name enclosed in double quotes"sv},
    {"\"abc"sv, 0, "Unterminated string starting at"sv},
    {"[1] x"sv, 4, "Extra data"sv},
    {"{\"a\":1,}"sv, 7, "Expecting property name enclosed in double quotes"sv},
    {"["sv, 1, "Expecting value"sv},
    {"tru"sv, 0, "Expecting value"sv},
    {"\"\\x\""sv, 1, "Invalid \\escape"sv},
    {"\"a\012b\""sv, 2, "Invalid control character at"sv},
    {"{\"a\":1 \"b\":2}"sv, 7, "Expecting ',' delimiter"sv},
    {"-"sv, 0, "Expecting value"sv},
    {"01"sv, 1, "Extra data"sv},
    {"1."sv, 1, "Extra data"sv},
    {"1e"sv, 1, "Extra data"sv},
    {"[1,]"sv, 3, "Expecting value"sv},
    {"{\"a\":}"sv, 5, "Expecting value"sv},
    {"nul"sv, 0, "Expecting value"sv},
    {"[1,2"sv, 4, "Expecting ',' delimiter"sv},
    {"{\"a\":1"sv, 6, "Expecting ',' delimiter"sv},
    {"{"sv, 1, "Expecting property name enclosed in double quotes"sv},
    {"[\"a"sv, 1, "Unterminated string starting at"sv},
    {"[\012  1,\012  x]"sv, 9, "Expecting value"sv},
    {"1 2"sv, 2, "Extra data"sv},
    {"{\"a\":1}}"sv, 7, "Extra data"sv},
    {"[1.5e]"sv, 4, "Expecting ',' delimiter"sv},
    {"\"\\u12\""sv, 2, "Invalid \\uXXXX escape"sv},
    {"{\"a\" : 1, \"b\"}"sv, 13, "Expecting ':' delimiter"sv},
};


std::string str(std::string_view s) { return std::string(s); }

}  // namespace

TEST_CASE("json: a document built in C++ dumps as Python's json.dumps, keys in insertion order") {
    json::value v = json::object{{"id", 1}, {"name", "x"}, {"tags", json::array{"a", "b"}}};
    CHECK(json::dump(v) == R"({"id": 1, "name": "x", "tags": ["a", "b"]})");
    v["score"] = 2.5;
    v["id"] = 7;  // an existing key keeps its place
    v["none"] = nullptr;
    v["ok"] = true;
    v["big"] = std::int64_t{-9223372036854775807 - 1};
    CHECK(json::dump(v) ==
          R"({"id": 7, "name": "x", "tags": ["a", "b"], "score": 2.5, "none": null, "ok": true, "big": -9223372036854775808})");
    CHECK(v.get_object().erase("name"));
    CHECK_FALSE(v.get_object().erase("name"));
    CHECK(json::dump(v["tags"]) == R"(["a", "b"])");
    std::string keys;
    for (const auto& [key, value] : v.get_object()) keys += key + ",";
    CHECK(keys == "id,tags,score,none,ok,big,");

    json::value empty;
    CHECK(empty.is_null());
    CHECK(json::dump(empty) == "null");
    empty["a"]["b"] = "c";  // null becomes an object
    CHECK(json::dump(empty) == R"({"a": {"b": "c"}})");
    CHECK(json::dump(json::array{}) == "[]");
    CHECK(json::dump(json::object{}) == "{}");
    CHECK(json::dump(json::array{json::array{}, json::object{}, 0, -1, 0.5f}) == "[[], {}, 0, -1, 0.5]");

    std::string appended = "x=";
    json::dump(json::array{1, 2}, appended);
    CHECK(appended == "x=[1, 2]");
}

TEST_CASE("json: an initializer list naming a key twice keeps its first place and last value, as a dict") {
    json::object o{{"a", 1}, {"b", 2}, {"a", 3}};
    CHECK(o.size() == 2);
    CHECK(json::dump(o) == R"({"a": 3, "b": 2})");
}

TEST_CASE("json: reading values: kinds, accessors, as<T>, lookups and their errors") {
    json::value v = json::parse(R"({"i": 42, "d": 1.5, "s": "text", "b": false, "n": null, "a": [10, 20], "o": {"k": "v"}})");
    const json::value& c = v;
    CHECK(c["i"].is_int());
    CHECK(c["i"].is_number());
    CHECK(c["d"].is_double());
    CHECK(c["s"].is_string());
    CHECK(c["b"].is_bool());
    CHECK(c["n"].is_null());
    CHECK(c["a"].is_array());
    CHECK(c["o"].is_object());
    CHECK(c["o"].type() == json::kind::object);
    CHECK(c["i"].get_int() == 42);
    CHECK(c["i"].get_double() == 42.0);  // an integer reads as a double too
    CHECK(c["i"].as<int>() == 42);
    CHECK(c["i"].as<std::uint8_t>() == 42);
    CHECK(c["d"].as<double>() == 1.5);
    CHECK(c["s"].as<std::string>() == "text");
    CHECK(c["s"].as<std::string_view>() == "text");
    CHECK(c["s"].get_string() == "text");
    CHECK(c["b"].as<bool>() == false);
    CHECK(c["a"][1].get_int() == 20);
    CHECK(c["a"].at(0).get_int() == 10);
    CHECK(c["a"].size() == 2);
    CHECK(c["o"].as<json::object>().at("k").get_string() == "v");
    CHECK(c["a"].as<json::array>().size() == 2);
    CHECK(c.contains("o"));
    CHECK_FALSE(c.contains("missing"));
    CHECK_FALSE(c["i"].contains("x"));  // not an object: nothing inside
    CHECK(c.find("missing") == nullptr);
    REQUIRE(c.find("s") != nullptr);
    CHECK(c.find("s")->get_string() == "text");
    CHECK(c.size() == 7);

    CHECK_THROWS_AS(c["missing"], std::out_of_range);
    CHECK_THROWS_AS(c.at("missing"), std::out_of_range);
    CHECK_THROWS_AS(c["a"][2], std::out_of_range);
    CHECK_THROWS_AS(c["a"].at(-1), std::out_of_range);
    CHECK_THROWS_AS(c["s"].get_int(), json::type_error);
    CHECK_THROWS_AS(c["i"].get_string(), json::type_error);
    CHECK_THROWS_AS(c["b"].get_int(), json::type_error);  // bool is not a number
    CHECK_THROWS_AS(c["d"].get_int(), json::type_error);
    CHECK_THROWS_AS(c["i"]["k"], json::type_error);
    CHECK_THROWS_AS(c["o"][0], json::type_error);
    CHECK_THROWS_AS(json::value(300).as<std::uint8_t>(), json::type_error);
    CHECK_THROWS_AS(json::value(-1).as<unsigned>(), json::type_error);
    try {
        (void)c["s"].get_int();
    } catch (const json::type_error& e) {
        CHECK(std::string(e.what()) == "json: value is not an integer");
    }

    v["a"].get_array().push_back("x");
    v["a"][0] = json::object{{"z", 0}};
    CHECK(json::dump(v["a"]) == R"([{"z": 0}, 20, "x"])");
}

TEST_CASE("json: comparison follows Python: numbers by value, objects whatever their order") {
    CHECK(json::value(1) == json::value(1.0));
    CHECK(json::value(1.0) == json::value(1));
    CHECK_FALSE(json::value(1) == json::value(1.5));
    CHECK_FALSE(json::value(0) == json::value(false));  // unlike Python's 0 == False
    CHECK_FALSE(json::value(std::int64_t{9007199254740993}) == json::value(9007199254740992.0));
    CHECK_FALSE(json::value(1) == json::value(std::numeric_limits<double>::quiet_NaN()));
    CHECK(json::value(json::object{{"a", 1}, {"b", 2}}) == json::value(json::object{{"b", 2}, {"a", 1}}));
    CHECK_FALSE(json::value(json::object{{"a", 1}}) == json::value(json::object{{"a", 1}, {"b", 2}}));
    CHECK_FALSE(json::value(json::array{1, 2}) == json::value(json::array{2, 1}));
    CHECK(json::value(json::array{1, "x", nullptr}) == json::value(json::array{1.0, "x", nullptr}));
    CHECK(json::value("x") == json::value(std::string("x")));
    CHECK_FALSE(json::value("1") == json::value(1));
    CHECK(json::value() == json::value(nullptr));
}

TEST_CASE("json: an unsigned integer above INT64_MAX is refused, not rounded") {
    CHECK_THROWS_AS(json::value(std::uint64_t{9223372036854775808ULL}), std::out_of_range);
    CHECK(json::value(std::uint64_t{9223372036854775807ULL}).get_int() == 9223372036854775807LL);
}

TEST_CASE("json: floats are written as Python's repr") {
    for (const auto& c : float_cases) {
        CAPTURE(c.repr);
        CHECK(json::dump(json::value(c.value)) == c.repr);
        if (std::isfinite(c.value)) CHECK(json::parse(c.repr).get_double() == c.value);  // round trip
    }
}

TEST_CASE("json: strings are written as json.dumps (ensure_ascii) and json_encode write them") {
    for (const auto& c : json_string_cases) {
        CAPTURE(c.out);
        CHECK(json::dump(json::value(str(c.in))) == c.out);
        CHECK(json::parse(c.out).get_string() == str(c.in));
    }
    // a NUL inside: the table's C strings stop there
    std::string nul("a\0b", 3);
    CHECK(json::dump(json::value(nul)) == R"("a\u0000b")");
    CHECK(json::parse(R"("a\u0000b")").get_string() == nul);
    for (const auto& c : json_encode_cases) {
        CAPTURE(c.out);
        CHECK(json::encode(json::value(str(c.in))) == c.out);
    }
    CHECK(json::encode(json::object{{"</k", "</v"}}) == R"({"<\/k": "<\/v"})");
}

TEST_CASE("json: invalid UTF-8 in a string cannot be encoded") {
    for (std::string bad : {std::string("\xff"), std::string("a\xc3"), std::string("\xc0\xaf"), std::string("\xed\xa0\x80"),
                            std::string("\xf4\x90\x80\x80"), std::string("\xe2\x82")}) {
        CAPTURE(bad.size());
        CHECK_THROWS_AS(json::dump(json::value(bad)), json::encode_error);
    }
    CHECK_THROWS_WITH_AS(json::dump(json::value("ok\xff")), "json: invalid UTF-8 in a string at byte 2",
                         json::encode_error);
    CHECK_THROWS_AS(json::dump(json::object{{"\xff", 1}}), json::encode_error);
}

TEST_CASE("json: documents parse as json.loads and dump back as json.dumps and json_encode") {
    for (const auto& c : doc_cases) {
        CAPTURE(c.text);
        json::value v = json::parse(c.text);
        CHECK(json::dump(v) == c.dumps);
        CHECK(json::encode(v) == c.json_encode);
        CHECK(gale::json_decode(c.dumps) == v);  // round trip
        CHECK(json::dump(json::parse(json::dump(v))) == c.dumps);
    }
}

TEST_CASE("json: an object with many keys keeps the first place and last value of a repeated key") {
    std::string text = "{";
    for (int i = 0; i < 40; ++i) text += (i ? ",\"k" : "\"k") + std::to_string(i % 20) + "\":" + std::to_string(i);
    text += "}";
    json::value v = json::parse(text);
    REQUIRE(v.size() == 20);
    int i = 0;
    for (const auto& [key, value] : v.get_object()) {
        CHECK(key == "k" + std::to_string(i));
        CHECK(value.get_int() == i + 20);
        ++i;
    }
}

TEST_CASE("json: syntax errors carry json.loads' message and place") {
    for (const auto& c : error_cases) {
        CAPTURE(c.text);
        try {
            (void)json::parse(c.text);
            FAIL("no error");
        } catch (const json::parse_error& e) {
            CHECK(e.reason == c.reason);
            CHECK(e.offset == c.offset);
        }
    }
    try {
        (void)json::parse("[\n  1,\n  x]");
        FAIL("no error");
    } catch (const json::parse_error& e) {
        CHECK(e.line == 3);
        CHECK(e.column == 3);
        CHECK(std::string(e.what()) == "json: Expecting value: line 3 column 3 (char 9)");  // as Python words it
    }
}

TEST_CASE("json: what gale refuses where Python would not, each with a place") {
    auto reason_at = [](std::string_view text) {
        try {
            (void)json::parse(text);
        } catch (const json::parse_error& e) {
            return e.reason + "@" + std::to_string(e.offset);
        }
        return std::string("parsed");
    };
    CHECK(reason_at("[1, 9223372036854775808]") == "Integer out of range (gale keeps integers as int64)@4");
    CHECK(reason_at("18446744073709551615") == "Integer out of range (gale keeps integers as int64)@0");
    CHECK(reason_at("-9223372036854775809") == "Integer out of range (gale keeps integers as int64)@0");
    CHECK(reason_at("123456789012345678901234567890") == "Integer out of range (gale keeps integers as int64)@0");
    CHECK(reason_at("[9223372036854775807, -9223372036854775808]") == "parsed");
    CHECK(reason_at("1e400") == "Number out of range@0");
    CHECK(reason_at("[NaN]") == "Expecting value@1");
    CHECK(reason_at("Infinity") == "Expecting value@0");
    CHECK(reason_at("-Infinity") == "Expecting value@0");
    CHECK(reason_at(R"(["\ud800"])") == "Lone surrogate in \\uXXXX escape@2");
    CHECK(reason_at(R"("\udc00\ud800")") == "Lone surrogate in \\uXXXX escape@1");
    CHECK(reason_at(R"("\ud83dx")") == "Lone surrogate in \\uXXXX escape@1");
    CHECK(reason_at("\"a\xff\"") == "Invalid UTF-8@2");
    CHECK(reason_at("\"\xed\xa0\x80\"") == "Invalid UTF-8@1");
    CHECK(reason_at("1e-400") == "parsed");  // underflow reads as 0.0, as Python
    CHECK(json::parse("1e-400").get_double() == 0.0);
    CHECK(json::parse("-0").get_int() == 0);
    CHECK(json::parse("1E2").get_double() == 100.0);
}

TEST_CASE("json: deep nesting: 1000 levels round trip, a million opening brackets fail cleanly") {
    std::string deep = std::string(1000, '[') + "1" + std::string(1000, ']');
    json::value v = json::parse(deep);
    std::string expected = std::string(1000, '[') + "1" + std::string(1000, ']');
    CHECK(json::dump(v) == expected);
    std::string objects;
    for (int i = 0; i < 500; ++i) objects += "{\"a\":";
    objects += "null" + std::string(500, '}');
    CHECK(json::parse(objects).find("a") != nullptr);

    std::string huge(1000000, '[');
    CHECK_THROWS_WITH_AS(json::parse(huge), "json: Nesting too deep: line 1 column 1025 (char 1024)",
                         json::parse_error);
    std::string too_deep = std::string(2000, '[') + std::string(2000, ']');
    CHECK_THROWS_AS(json::parse(too_deep), json::parse_error);
}

TEST_CASE("json: parsing leaves the input alone and works on views into larger buffers") {
    std::string buffer = R"(xx{"a": [1, 2]}yy)";
    std::string_view view(buffer.data() + 2, buffer.size() - 4);
    CHECK(json::dump(json::parse(view)) == R"({"a": [1, 2]})");
    CHECK(buffer == R"(xx{"a": [1, 2]}yy)");
}
